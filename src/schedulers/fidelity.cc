// Multi-fidelity schedule and level correlation (see include/dial/fidelity.h).
#include "dial/fidelity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace dial {
namespace {

bool IsScalar(const ParamValue& v) { return !std::holds_alternative<std::monostate>(v); }

// Average ranks (1-based), ties sharing the mean of their positions.
std::vector<double> Ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = mean_rank;
    i = j + 1;
  }
  return ranks;
}

double Pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx <= 0 || syy <= 0) return std::numeric_limits<double>::quiet_NaN();
  return sxy / std::sqrt(sxx * syy);
}

// Objective value to minimise (maximisation negated), +inf when the trial has none.
double Loss(const FrozenTrial& t, StudyDirection direction) {
  if (t.state != TrialState::kComplete || t.values.empty() || std::isnan(t.values[0])) {
    return std::numeric_limits<double>::infinity();
  }
  return direction == StudyDirection::kMaximize ? -t.values[0] : t.values[0];
}

}  // namespace

Status FidelityOptions::Validate() const {
  if (levels.size() < 2) {
    return InvalidArgument("fidelity.levels: give at least two levels (cheapest first), got " +
                           std::to_string(levels.size()));
  }
  for (size_t k = 0; k < levels.size(); ++k) {
    if (levels[k].empty()) return InvalidArgument("fidelity.levels[" + std::to_string(k) + "]: empty");
    for (const auto& [key, value] : levels[k]) {
      if (!IsScalar(value)) {
        return InvalidArgument("fidelity.levels[" + std::to_string(k) + "]." + key + ": must be a value");
      }
    }
  }
  if (schedule != kSuccessiveHalvingSchedule && schedule != kHyperbandSchedule && schedule != kBohbSchedule) {
    return InvalidArgument("fidelity.schedule.name: unknown schedule '" + schedule +
                           "' (known: successive_halving, hyperband, bohb)");
  }
  if (rounds < 1) return InvalidArgument("fidelity.schedule.rounds: must be ≥ 1, got " + std::to_string(rounds));
  if (rounds > 1 && !HasBrackets()) {
    return InvalidArgument("fidelity.schedule.rounds: only hyperband and bohb repeat their brackets");
  }
  if (start_trials < 1) {
    return InvalidArgument("fidelity.schedule.start_trials: must be ≥ 1, got " + std::to_string(start_trials));
  }
  if (!(keep > 0.0 && keep < 1.0)) {
    return InvalidArgument("fidelity.schedule.keep: must be in (0, 1), got " + std::to_string(keep));
  }
  if (min_points_in_model < 0) return InvalidArgument("fidelity.min_points_in_model: must be ≥ 0");
  return Status::Ok();
}

std::vector<int64_t> FidelityOptions::RungSizes() const {
  std::vector<int64_t> sizes;
  for (size_t k = 0; k < levels.size(); ++k) {
    const double planned = static_cast<double>(start_trials) * std::pow(keep, static_cast<double>(k));
    sizes.push_back(std::max<int64_t>(1, static_cast<int64_t>(std::llround(planned))));
  }
  return sizes;
}

std::vector<FidelityBracket> FidelityOptions::Brackets() const {
  const int n_levels = static_cast<int>(levels.size());
  std::vector<FidelityBracket> set;
  for (int b = 0; b < (HasBrackets() ? n_levels : 1); ++b) {
    // Hyperband's bracket s = L−1−b, relative to the first bracket's start_trials (see the header).
    const int s = n_levels - 1 - b;
    const double start = static_cast<double>(start_trials) * static_cast<double>(n_levels) / (s + 1) *
                         std::pow(keep, static_cast<double>(n_levels - 1 - s));
    FidelityBracket bracket;
    bracket.start_level = b;
    const int64_t n = b == 0 ? start_trials : static_cast<int64_t>(std::ceil(start - 1e-9));
    for (int k = b; k < n_levels; ++k) {
      const double planned = static_cast<double>(n) * std::pow(keep, static_cast<double>(k - b));
      bracket.sizes.push_back(std::max<int64_t>(1, static_cast<int64_t>(std::llround(planned))));
    }
    set.push_back(std::move(bracket));
  }
  std::vector<FidelityBracket> all;
  for (int64_t r = 0; r < rounds; ++r) all.insert(all.end(), set.begin(), set.end());
  return all;
}

int64_t FidelityOptions::TotalTrials() const {
  int64_t total = 0;
  for (const FidelityBracket& bracket : Brackets()) {
    for (int64_t n : bracket.sizes) total += n;
  }
  return total;
}

bool FidelityOptions::ResumesAt(int from) const {
  if (from < 0 || from + 1 >= static_cast<int>(levels.size())) return false;
  const auto& a = levels[from];
  const auto& b = levels[from + 1];
  std::set<std::string> keys;
  for (const auto& [k, v] : a) keys.insert(k);
  for (const auto& [k, v] : b) keys.insert(k);
  for (const std::string& k : keys) {
    auto ia = a.find(k);
    auto ib = b.find(k);
    const bool same = ia != a.end() && ib != b.end() && ia->second == ib->second;
    if (!same && std::find(resume_keys.begin(), resume_keys.end(), k) == resume_keys.end()) return false;
  }
  return true;
}

int FidelityLevelOf(const FrozenTrial& trial) {
  auto it = trial.system_attrs.find(std::string(kFidelityLevelAttr));
  if (it == trial.system_attrs.end() || !it->second.is_number_integer()) return 0;
  return it->second.get<int>();
}

int64_t FidelityParentOf(const FrozenTrial& trial) {
  auto it = trial.system_attrs.find(std::string(kFidelityParentAttr));
  if (it == trial.system_attrs.end() || !it->second.is_number_integer()) return -1;
  return it->second.get<int64_t>();
}

int FidelityBracketOf(const FrozenTrial& trial) {
  auto it = trial.system_attrs.find(std::string(kFidelityBracketAttr));
  if (it == trial.system_attrs.end() || !it->second.is_number_integer()) return 0;
  return it->second.get<int>();
}

Result<TrialFilter> FidelityPrunerView(const Study& study, const FrozenTrial& trial) {
  if (trial.system_attrs.count(std::string(kFidelityLevelAttr)) == 0) return TrialFilter();
  const int level = FidelityLevelOf(trial);
  const int bracket = FidelityBracketOf(trial);
  return TrialFilter([level, bracket](const FrozenTrial& t) {
    return FidelityLevelOf(t) == level && FidelityBracketOf(t) == bracket;
  });
}

FidelityDecision DecideNextFidelityStep(const std::vector<FrozenTrial>& trials, const FidelityOptions& options,
                                        StudyDirection direction) {
  using Kind = FidelityDecision::Kind;
  const int n_levels = static_cast<int>(options.levels.size());
  const std::vector<FidelityBracket> brackets = options.Brackets();
  const int n_brackets = static_cast<int>(brackets.size());
  // at[bracket][level]: the bracket's trials at each level.
  std::vector<std::vector<std::vector<const FrozenTrial*>>> at(n_brackets,
                                                               std::vector<std::vector<const FrozenTrial*>>(n_levels));
  std::set<int64_t> promoted;  // parents that already have a child
  for (const FrozenTrial& t : trials) {
    if (t.state == TrialState::kWaiting) {
      return {Kind::kRunWaiting, FidelityLevelOf(t), FidelityParentOf(t), FidelityBracketOf(t)};
    }
    const int bracket = std::clamp(FidelityBracketOf(t), 0, n_brackets - 1);
    at[bracket][std::clamp(FidelityLevelOf(t), 0, n_levels - 1)].push_back(&t);
    if (const int64_t parent = FidelityParentOf(t); parent >= 0) promoted.insert(parent);
  }
  bool busy = false;
  for (int j = 0; j < n_brackets; ++j) {
    const FidelityBracket& bracket = brackets[j];
    const auto planned = [&](int level) { return bracket.sizes[level - bracket.start_level]; };
    // Promotions first, from the highest level down, so that the expensive runs start as early as they can.
    for (int k = n_levels - 2; k >= bracket.start_level; --k) {
      const std::vector<const FrozenTrial*>& here = at[j][k];
      const bool level_finished =
          static_cast<int64_t>(here.size()) >= planned(k) &&
          std::all_of(here.begin(), here.end(), [](const FrozenTrial* t) { return IsFinished(t->state); });
      if (!level_finished) continue;
      std::vector<const FrozenTrial*> ranked;
      for (const FrozenTrial* t : here) {
        if (std::isfinite(Loss(*t, direction))) ranked.push_back(t);
      }
      std::stable_sort(ranked.begin(), ranked.end(), [&](const FrozenTrial* a, const FrozenTrial* b) {
        return Loss(*a, direction) < Loss(*b, direction);
      });
      const size_t quota = std::min<size_t>(static_cast<size_t>(planned(k + 1)), ranked.size());
      for (size_t i = 0; i < quota; ++i) {
        if (promoted.count(ranked[i]->number) == 0) return {Kind::kPromote, k + 1, ranked[i]->number, j};
      }
    }
    if (static_cast<int64_t>(at[j][bracket.start_level].size()) < planned(bracket.start_level)) {
      return {Kind::kNewTrial, bracket.start_level, -1, j};
    }
    // Nothing to start here: either the bracket is done or its next promotions wait for running trials, in which
    // case the next bracket may start meanwhile.
    for (const auto& level : at[j]) {
      busy = busy || std::any_of(level.begin(), level.end(),
                                 [](const FrozenTrial* t) { return t->state == TrialState::kRunning; });
    }
  }
  return {busy ? Kind::kWait : Kind::kDone, 0, -1, 0};
}

int FidelityModelLevel(const std::vector<FrozenTrial>& trials, const FidelityOptions& options, int n_params) {
  const int64_t needed = options.min_points_in_model > 0 ? options.min_points_in_model : n_params + 1;
  std::vector<int64_t> complete(options.levels.size(), 0);
  for (const FrozenTrial& t : trials) {
    const int level = FidelityLevelOf(t);
    if (t.state == TrialState::kComplete && level >= 0 && level < static_cast<int>(complete.size())) {
      ++complete[level];
    }
  }
  for (int k = static_cast<int>(complete.size()) - 1; k > 0; --k) {
    if (complete[k] >= needed) return k;
  }
  return 0;
}

TrialFilter FidelitySamplerView(const std::vector<FrozenTrial>& trials, const FidelityOptions& options, int n_params,
                                const FrozenTrial& trial) {
  if (options.schedule != kHyperbandSchedule) {
    const int level = FidelityModelLevel(trials, options, n_params);
    return [level](const FrozenTrial& t) { return FidelityLevelOf(t) == level; };
  }
  const int bracket = FidelityBracketOf(trial);
  std::vector<FrozenTrial> own;
  for (const FrozenTrial& t : trials) {
    if (FidelityBracketOf(t) == bracket) own.push_back(t);
  }
  const int level = FidelityModelLevel(own, options, n_params);
  return
      [level, bracket](const FrozenTrial& t) { return FidelityBracketOf(t) == bracket && FidelityLevelOf(t) == level; };
}

double SpearmanCorrelation(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  // ρ = Pearson correlation of the (average) ranks; equals 1 − 6Σd²/(n(n²−1)) without ties.
  return Pearson(Ranks(x), Ranks(y));
}

double KendallTauB(const std::vector<double>& x, const std::vector<double>& y) {
  // τ_b = (C − D) / sqrt((n0 − n1)(n0 − n2)), n0 = n(n−1)/2, n1 / n2 = pairs tied in x / in y.
  if (x.size() != y.size() || x.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  double concordant = 0, discordant = 0, tied_x = 0, tied_y = 0;
  const size_t n = x.size();
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const double dx = x[i] - x[j];
      const double dy = y[i] - y[j];
      if (dx == 0 && dy == 0) {
        ++tied_x, ++tied_y;
      } else if (dx == 0) {
        ++tied_x;
      } else if (dy == 0) {
        ++tied_y;
      } else if ((dx > 0) == (dy > 0)) {
        ++concordant;
      } else {
        ++discordant;
      }
    }
  }
  const double n0 = static_cast<double>(n) * static_cast<double>(n - 1) / 2.0;
  const double denominator = std::sqrt((n0 - tied_x) * (n0 - tied_y));
  if (denominator <= 0) return std::numeric_limits<double>::quiet_NaN();
  return (concordant - discordant) / denominator;
}

std::vector<FidelityCorrelation> FidelityCorrelations(const std::vector<FrozenTrial>& trials) {
  std::map<int64_t, const FrozenTrial*> by_number;
  int max_level = 0;
  for (const FrozenTrial& t : trials) {
    by_number[t.number] = &t;
    max_level = std::max(max_level, FidelityLevelOf(t));
  }
  // The ancestor of `t` at `level` (following parent links), or nullptr.
  auto ancestor_at = [&](const FrozenTrial* t, int level) -> const FrozenTrial* {
    while (t != nullptr && FidelityLevelOf(*t) > level) {
      auto it = by_number.find(FidelityParentOf(*t));
      t = it == by_number.end() ? nullptr : it->second;
    }
    return t != nullptr && FidelityLevelOf(*t) == level ? t : nullptr;
  };
  std::vector<FidelityCorrelation> out;
  for (int from = 0; from < max_level; ++from) {
    for (int to = from + 1; to <= max_level; ++to) {
      FidelityCorrelation c;
      c.from_level = from;
      c.to_level = to;
      std::vector<double> proxy, target;
      for (const FrozenTrial& t : trials) {
        if (FidelityLevelOf(t) != to || t.state != TrialState::kComplete || t.values.empty()) continue;
        const FrozenTrial* a = ancestor_at(&t, from);
        if (a == nullptr || a->state != TrialState::kComplete || a->values.empty()) continue;
        if (!std::isfinite(a->values[0]) || !std::isfinite(t.values[0])) continue;
        proxy.push_back(a->values[0]);
        target.push_back(t.values[0]);
      }
      c.n_pairs = static_cast<int64_t>(proxy.size());
      c.spearman = SpearmanCorrelation(proxy, target);
      c.kendall = KendallTauB(proxy, target);
      if (c.n_pairs < kMinCorrelationPairs) {
        c.reliable = false;
        c.warning = "only " + std::to_string(c.n_pairs) +
                    " configuration(s) were evaluated at both levels (fewer than " +
                    std::to_string(kMinCorrelationPairs) + "): too few to tell whether the proxy predicts the full run";
      } else if (!(c.spearman >= kMinProxySpearman)) {
        c.reliable = false;
        c.warning = "Spearman ρ below " + std::to_string(kMinProxySpearman).substr(0, 3) + ": the level-" +
                    std::to_string(from) + " proxy does not rank configurations as level " + std::to_string(to) +
                    " does, so promoting by it may discard the best configurations";
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace dial
