// Parameter importance (fANOVA, PED-ANOVA, MDI) over a study's trials; see include/dial/analysis.h.
//
// The trials are turned into a regression problem as Optuna's importance evaluators do: the intersection search
// space, ordered by name; numbers on their own scale (no log transform) with the distribution's [low, high] as
// bounds; categoricals one-hot with [0, 1] bounds, whose columns are grouped back into one parameter.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <variant>

#include "analysis/fanova.h"
#include "analysis/ped_anova.h"
#include "analysis/random_forest.h"
#include "dial/analysis.h"

namespace dial {
namespace {

// PED-ANOVA needs at least this many top trials; with no more trials than this every parameter gets an equal share.
constexpr int kMinTopTrials = 2;

struct Problem {
  std::vector<std::string> names;           // parameters that vary, by name
  std::vector<Distribution> distributions;  // parallel to names
  std::vector<std::string> single_names;    // parameters with one value: importance 0
  std::vector<const FrozenTrial*> trials;   // the trials used
  std::vector<double> targets;              // parallel to trials
};

Result<SearchSpace> AssessedSpace(const std::vector<const FrozenTrial*>& complete, const ImportanceOptions& options) {
  SearchSpace space;
  if (options.params.empty()) {
    // Optuna's intersection search space: names every COMPLETE trial has, with the same distribution in all.
    bool first = true;
    for (const FrozenTrial* t : complete) {
      if (first) {
        space = t->distributions;
        first = false;
        continue;
      }
      for (auto it = space.begin(); it != space.end();) {
        auto other = t->distributions.find(it->first);
        const bool keep = other != t->distributions.end() && DistributionEquals(other->second, it->second);
        it = keep ? std::next(it) : space.erase(it);
      }
    }
    return space;
  }
  for (const std::string& name : options.params) {
    const bool seen = std::any_of(complete.begin(), complete.end(),
                                  [&](const FrozenTrial* t) { return t->distributions.count(name) > 0; });
    if (!seen) return InvalidArgument("parameter '" + name + "' is in no COMPLETE trial");
  }
  bool first = true;
  for (const FrozenTrial* t : complete) {
    const bool has_all = std::all_of(options.params.begin(), options.params.end(),
                                     [&](const std::string& n) { return t->distributions.count(n) > 0; });
    if (!has_all) continue;
    for (const std::string& name : options.params) {
      const Distribution& d = t->distributions.at(name);
      if (first) {
        space[name] = d;
      } else if (!DistributionEquals(space.at(name), d)) {
        return InvalidArgument("parameter '" + name + "' has different distributions in different trials (" +
                               DistributionToString(space.at(name)) + " and " + DistributionToString(d) +
                               "); importances need one search space");
      }
    }
    first = false;
  }
  if (first) return InvalidArgument("no COMPLETE trial has all of the parameters asked for");
  return space;
}

Result<Problem> BuildProblem(const std::vector<FrozenTrial>& trials, const ImportanceOptions& options) {
  std::vector<const FrozenTrial*> complete;
  bool index_seen = false;
  for (const FrozenTrial& t : trials) {
    if (t.state != TrialState::kComplete) continue;
    complete.push_back(&t);
    index_seen = index_seen || options.objective_index < t.values.size();
  }
  if (complete.size() < 2) {
    return FailedPrecondition("importances need at least 2 COMPLETE trials, the study has " +
                              std::to_string(complete.size()));
  }
  if (!index_seen) {
    return InvalidArgument("objective index " + std::to_string(options.objective_index) +
                           " is out of range: the COMPLETE trials have " + std::to_string(complete[0]->values.size()) +
                           " value(s)");
  }
  DIAL_ASSIGN_OR_RETURN(SearchSpace space, AssessedSpace(complete, options));
  Problem problem;
  for (const auto& [name, dist] : space) {
    if (IsSingle(dist)) {
      problem.single_names.push_back(name);
    } else {
      problem.names.push_back(name);
      problem.distributions.push_back(dist);
    }
  }
  for (const FrozenTrial* t : complete) {
    if (options.objective_index >= t->values.size() || !std::isfinite(t->values[options.objective_index])) continue;
    const bool has_all =
        std::all_of(space.begin(), space.end(), [&](const auto& e) { return t->params.count(e.first); });
    if (!has_all) continue;
    problem.trials.push_back(t);
    problem.targets.push_back(t->values[options.objective_index]);
  }
  if (problem.trials.size() < 2) {
    return FailedPrecondition(
        "importances need at least 2 COMPLETE trials with a finite value and every assessed "
        "parameter; " +
        std::to_string(problem.trials.size()) + " of " + std::to_string(complete.size()) + " qualify");
  }
  return problem;
}

// The regression encoding: one column per number, one per choice of a categorical.
struct Encoding {
  internal::RegressionData data;
  std::vector<internal::FeatureBounds> bounds;
  std::vector<std::vector<int>> groups;  // per parameter, its columns
};

Encoding Encode(const Problem& problem) {
  Encoding enc;
  for (const Distribution& dist : problem.distributions) {
    std::vector<int> group;
    if (const auto* c = std::get_if<CategoricalDistribution>(&dist)) {
      for (size_t k = 0; k < c->choices.size(); ++k) {
        group.push_back(static_cast<int>(enc.bounds.size()));
        enc.bounds.push_back({0.0, 1.0});
      }
    } else if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
      group.push_back(static_cast<int>(enc.bounds.size()));
      enc.bounds.push_back({f->low, f->high});
    } else {
      const auto& i = std::get<IntDistribution>(dist);
      group.push_back(static_cast<int>(enc.bounds.size()));
      enc.bounds.push_back({static_cast<double>(i.low), static_cast<double>(i.high)});
    }
    enc.groups.push_back(std::move(group));
  }
  enc.data.n_features = static_cast<int>(enc.bounds.size());
  for (size_t r = 0; r < problem.trials.size(); ++r) {
    std::vector<double> row(enc.data.n_features, 0.0);
    for (size_t p = 0; p < problem.names.size(); ++p) {
      const double internal = problem.trials[r]->params.at(problem.names[p]);
      if (std::holds_alternative<CategoricalDistribution>(problem.distributions[p])) {
        row[enc.groups[p][static_cast<size_t>(internal)]] = 1.0;
      } else {
        row[enc.groups[p][0]] = internal;
      }
    }
    enc.data.x.insert(enc.data.x.end(), row.begin(), row.end());
    enc.data.y.push_back(problem.targets[r]);
  }
  return enc;
}

internal::ForestOptions ForestFor(const ImportanceOptions& options) {
  internal::ForestOptions forest;
  forest.n_trees = options.n_trees;
  forest.tree.max_depth = options.max_depth;
  forest.seed = options.seed;
  return forest;
}

// fANOVA: per tree, the share V_p / V of its variance that each parameter's marginal explains; averaged over the
// trees with V > 0.
Result<std::vector<double>> Fanova(const Problem& problem, const ImportanceOptions& options) {
  const Encoding enc = Encode(problem);
  const std::vector<internal::RegressionTree> forest = internal::GrowForest(enc.data, ForestFor(options));
  std::vector<double> importance(problem.names.size(), 0.0);
  int n_used = 0;
  for (const internal::RegressionTree& tree : forest) {
    const internal::FanovaTree fanova(tree, enc.bounds);
    if (!(fanova.Variance() > 0)) continue;
    for (size_t p = 0; p < enc.groups.size(); ++p) {
      importance[p] += fanova.MarginalVariance(enc.groups[p]) / fanova.Variance();
    }
    ++n_used;
  }
  if (n_used == 0) {
    return FailedPrecondition("fANOVA found no variance to explain: all " + std::to_string(problem.trials.size()) +
                              " trials used have the same value");
  }
  for (double& v : importance) v /= n_used;
  return importance;
}

std::vector<double> MeanDecreaseImpurity(const Problem& problem, const ImportanceOptions& options) {
  const Encoding enc = Encode(problem);
  const std::vector<internal::RegressionTree> forest = internal::GrowForest(enc.data, ForestFor(options));
  const std::vector<double> per_column = internal::MeanDecreaseImpurity(forest, enc.data.n_features);
  std::vector<double> importance(problem.names.size(), 0.0);
  for (size_t p = 0; p < enc.groups.size(); ++p) {
    for (int column : enc.groups[p]) importance[p] += per_column[column];
  }
  return importance;
}

// The grid point of a numeric value: its nearest point on n equally spaced points over [low, high], on the log scale
// for a log distribution.
int GridIndex(double value, double low, double high, bool log, int n) {
  const double a = log ? std::log(low) : low, b = log ? std::log(high) : high, v = log ? std::log(value) : value;
  const double position = (v - a) / (b - a) * (n - 1);
  return std::clamp(static_cast<int>(std::lround(position)), 0, n - 1);
}

// The number of grid points for a numeric distribution: kPedAnovaMaxGridSize, or fewer when its own grid (the ints
// or the steps of a stepped float; for a log int, the doublings from low to high) is shorter.
int GridSize(const Distribution& dist) {
  if (const auto* i = std::get_if<IntDistribution>(&dist)) {
    const double n = i->log ? std::ceil(std::log2(static_cast<double>(i->high - i->low + 1))) + 1
                            : static_cast<double>((i->high - i->low) / i->step + 1);
    return static_cast<int>(std::min<double>(n, internal::kPedAnovaMaxGridSize));
  }
  const auto& f = std::get<FloatDistribution>(dist);
  if (f.step) {
    return static_cast<int>(
        std::min<double>(std::round((f.high - f.low) / *f.step) + 1, internal::kPedAnovaMaxGridSize));
  }
  return internal::kPedAnovaMaxGridSize;
}

// The density of one parameter over `rows` of the problem's trials.
std::vector<double> Density(const Problem& problem, size_t p, const std::vector<size_t>& rows) {
  const Distribution& dist = problem.distributions[p];
  if (const auto* c = std::get_if<CategoricalDistribution>(&dist)) {
    std::vector<double> counts(c->choices.size(), 0.0);
    for (size_t r : rows) counts[static_cast<size_t>(problem.trials[r]->params.at(problem.names[p]))] += 1.0;
    return internal::CategoricalDensity(counts);
  }
  double low, high;
  bool log;
  if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
    low = f->low, high = f->high, log = f->log;
  } else {
    const auto& i = std::get<IntDistribution>(dist);
    low = static_cast<double>(i.low), high = static_cast<double>(i.high), log = i.log;
  }
  const int n = GridSize(dist);
  std::vector<double> counts(n, 0.0);
  for (size_t r : rows) counts[GridIndex(problem.trials[r]->params.at(problem.names[p]), low, high, log, n)] += 1.0;
  return internal::NumericGridDensity(counts);
}

std::vector<double> PedAnova(const Problem& problem, const ImportanceOptions& options) {
  const size_t n = problem.trials.size();
  const size_t n_params = problem.names.size();
  if (n <= static_cast<size_t>(kMinTopTrials)) return std::vector<double>(n_params, 1.0);  // too few to tell apart
  // Losses (lower is better); the top trials are those at or below the cutoff
  //   max(the kMinTopTrials-th smallest loss, the ⌈q n⌉-th smallest loss)   (the inverted-CDF quantile).
  const double sign = options.direction == StudyDirection::kMaximize ? -1.0 : 1.0;
  std::vector<double> losses(n);
  for (size_t r = 0; r < n; ++r) losses[r] = sign * problem.targets[r];
  std::vector<double> sorted = losses;
  std::sort(sorted.begin(), sorted.end());
  const size_t quantile_rank =
      static_cast<size_t>(std::max(1.0, std::ceil(options.baseline_quantile * static_cast<double>(n))));
  const double cutoff = std::max(sorted[kMinTopTrials - 1], sorted[std::min(n, quantile_rank) - 1]);
  std::vector<size_t> top, all(n);
  std::iota(all.begin(), all.end(), 0);
  for (size_t r = 0; r < n; ++r) {
    if (losses[r] <= cutoff) top.push_back(r);
  }
  std::vector<double> importance(n_params, 0.0);
  for (size_t p = 0; p < n_params; ++p) {
    const std::vector<double> p_top = Density(problem, p, top);
    std::vector<double> p_local;
    if (options.evaluate_on_local) {
      p_local = Density(problem, p, all);
    } else {
      p_local.assign(p_top.size(), 1.0 / static_cast<double>(p_top.size()));
    }
    importance[p] = internal::PearsonDivergence(p_top, p_local);
  }
  return importance;
}

}  // namespace

std::string_view ImportanceEvaluatorName(ImportanceEvaluator evaluator) {
  switch (evaluator) {
    case ImportanceEvaluator::kFanova:
      return "fanova";
    case ImportanceEvaluator::kPedAnova:
      return "ped-anova";
    case ImportanceEvaluator::kMeanDecreaseImpurity:
      return "mdi";
  }
  return "fanova";
}

std::optional<ImportanceEvaluator> ParseImportanceEvaluator(std::string_view name) {
  for (ImportanceEvaluator e :
       {ImportanceEvaluator::kFanova, ImportanceEvaluator::kPedAnova, ImportanceEvaluator::kMeanDecreaseImpurity}) {
    if (ImportanceEvaluatorName(e) == name) return e;
  }
  return std::nullopt;
}

Status ImportanceOptions::Validate() const {
  if (n_trees < 1) return InvalidArgument("importance: n_trees must be ≥ 1, got " + std::to_string(n_trees));
  if (max_depth < 1) return InvalidArgument("importance: max_depth must be ≥ 1, got " + std::to_string(max_depth));
  if (!(baseline_quantile > 0.0 && baseline_quantile <= 1.0)) {
    return InvalidArgument("importance: baseline_quantile must be in (0, 1], got " + std::to_string(baseline_quantile));
  }
  return Status::Ok();
}

Result<std::vector<ParamImportance>> ComputeImportances(const std::vector<FrozenTrial>& trials,
                                                        const ImportanceOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  DIAL_ASSIGN_OR_RETURN(Problem problem, BuildProblem(trials, options));
  std::vector<double> raw;
  if (!problem.names.empty()) {
    switch (options.evaluator) {
      case ImportanceEvaluator::kFanova: {
        DIAL_ASSIGN_OR_RETURN(raw, Fanova(problem, options));
        break;
      }
      case ImportanceEvaluator::kPedAnova:
        raw = PedAnova(problem, options);
        break;
      case ImportanceEvaluator::kMeanDecreaseImpurity:
        raw = MeanDecreaseImpurity(problem, options);
        break;
    }
    // Normalised to add up to 1; when nothing is explained at all, equal shares (as Optuna's get_param_importances).
    const double sum = std::accumulate(raw.begin(), raw.end(), 0.0);
    for (double& v : raw) v = sum > 0 ? v / sum : 1.0 / static_cast<double>(raw.size());
  }
  std::vector<ParamImportance> out;
  for (size_t p = 0; p < problem.names.size(); ++p) out.push_back({problem.names[p], raw[p]});
  for (const std::string& name : problem.single_names) out.push_back({name, 0.0});
  std::stable_sort(out.begin(), out.end(), [](const ParamImportance& a, const ParamImportance& b) {
    return a.importance != b.importance ? a.importance > b.importance : a.name < b.name;
  });
  return out;
}

}  // namespace dial
