// Population-based training's schedule: exploit and explore decided from the stored segments (see
// include/dial/pbt.h and docs/pbt.md).
#include "dial/pbt.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

namespace dial {
namespace {

// SplitMix64 (Steele, Lea & Flood 2014): a counter-based generator, so a decision's draws depend on
// (seed, member, generation) alone and any worker that takes the decision over draws the same.
class DecisionRng {
 public:
  DecisionRng(uint64_t seed, int64_t member, int64_t generation)
      : state_(seed ^ (static_cast<uint64_t>(member) * 0xd1b54a32d192ed03ULL) ^
               (static_cast<uint64_t>(generation) * 0xabc98388fb8fac03ULL)) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  size_t Index(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

std::optional<int64_t> IntAttr(const FrozenTrial& t, std::string_view key) {
  auto it = t.system_attrs.find(std::string(key));
  if (it == t.system_attrs.end() || !it->second.is_number_integer()) return std::nullopt;
  return it->second.get<int64_t>();
}

// How a finished segment ranks: COMPLETE before FAIL/PRUNED, then by loss (maximisation negated), then by member.
struct RankKey {
  bool failed = true;
  double loss = std::numeric_limits<double>::infinity();
  int64_t member = 0;
  bool operator<(const RankKey& o) const {
    if (failed != o.failed) return !failed;
    if (loss != o.loss) return loss < o.loss;
    return member < o.member;
  }
};

RankKey KeyOf(const FrozenTrial& t, int64_t member, StudyDirection direction) {
  RankKey key;
  key.member = member;
  key.failed = t.state != TrialState::kComplete || t.values.empty() || std::isnan(t.values[0]);
  if (!key.failed) key.loss = direction == StudyDirection::kMaximize ? -t.values[0] : t.values[0];
  return key;
}

Status CheckExplore(const PbtExploreOptions& explore, const std::string& key) {
  if (!(explore.resample_probability >= 0.0 && explore.resample_probability <= 1.0)) {
    return InvalidArgument(key + ".resample_probability: must be in [0, 1], got " +
                           std::to_string(explore.resample_probability));
  }
  if (explore.perturbation_factors.empty()) {
    return InvalidArgument(key + ".perturbation_factors: give at least one factor, e.g. [0.8, 1.2]");
  }
  for (double f : explore.perturbation_factors) {
    if (!(f > 0.0) || !std::isfinite(f)) {
      return InvalidArgument(key + ".perturbation_factors: each factor must be a positive number, got " +
                             std::to_string(f));
    }
  }
  return Status::Ok();
}

// Snaps an internal float/int value to its distribution: clipped to [low, high], on the step grid.
double Snap(const Distribution& dist, double x) {
  if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
    x = std::clamp(x, f->low, f->high);
    if (f->step) x = std::clamp(f->low + std::round((x - f->low) / *f->step) * *f->step, f->low, f->high);
    return x;
  }
  const auto& i = std::get<IntDistribution>(dist);
  const double low = static_cast<double>(i.low);
  const double step = static_cast<double>(i.step);
  x = std::clamp(x, low, static_cast<double>(i.high));
  double snapped = low + std::round((x - low) / step) * step;
  if (snapped > static_cast<double>(i.high)) snapped -= step;
  return snapped;
}

// A fresh draw from the distribution (internal form): uniform, log-uniform, or on the step grid.
double Resample(const Distribution& dist, DecisionRng& rng) {
  if (const auto* c = std::get_if<CategoricalDistribution>(&dist)) {
    return static_cast<double>(rng.Index(c->choices.size()));
  }
  double low = 0, high = 0;
  bool log = false;
  if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
    low = f->low, high = f->high, log = f->log;
  } else {
    const auto& i = std::get<IntDistribution>(dist);
    // Widened by half a step so that rounding gives each integer its share (log: low ≥ 1, so low − 0.5 > 0).
    const double half_step = 0.5 * static_cast<double>(i.step);
    low = static_cast<double>(i.low) - half_step;
    high = static_cast<double>(i.high) + half_step;
    log = i.log;
  }
  const double u = rng.Uniform();
  const double x = log ? std::exp(std::log(low) + u * (std::log(high) - std::log(low))) : low + u * (high - low);
  return Snap(dist, x);
}

std::string FactorText(double factor) {
  std::ostringstream out;
  out << factor;
  return out.str();
}

// The donor's params with each mutable one explored; `explored` records {param: {from, to, how}}.
std::map<std::string, ParamValue> Explore(const FrozenTrial& donor, const PbtOptions& options, DecisionRng& rng,
                                          Json& explored) {
  std::map<std::string, ParamValue> params = donor.ExternalParams();
  explored = Json::object();
  for (const auto& [name, explore] : options.mutable_params) {
    auto d = donor.distributions.find(name);
    auto p = donor.params.find(name);
    if (d == donor.distributions.end() || p == donor.params.end()) continue;  // conditional, absent here
    const Distribution& dist = d->second;
    const double from = p->second;
    double to = from;
    std::string how;
    if (std::holds_alternative<CategoricalDistribution>(dist) || rng.Uniform() < explore.resample_probability) {
      to = Resample(dist, rng);
      how = "resample";
    } else {
      const double factor = explore.perturbation_factors[rng.Index(explore.perturbation_factors.size())];
      to = Snap(dist, from * factor);
      how = "*" + FactorText(factor);
    }
    params[name] = ToExternal(dist, to);
    explored[name] = Json{{"from", ParamValueToJson(ToExternal(dist, from))},
                          {"to", ParamValueToJson(ToExternal(dist, to))},
                          {"how", how}};
  }
  return params;
}

AttrMap SegmentAttrs(const PbtOptions& options, int64_t member, int64_t generation) {
  return {{std::string(kPbtMemberAttr), member},
          {std::string(kPbtGenerationAttr), generation},
          {std::string(kPbtStartStepAttr), options.StartStep(generation)},
          {std::string(kPbtEndStepAttr), options.EndStep(generation)}};
}

}  // namespace

Status PbtOptions::Validate() const {
  if (population_size < 2) {
    return InvalidArgument("scheduler.population_size: must be ≥ 2, got " + std::to_string(population_size));
  }
  if (perturbation_interval < 1) {
    return InvalidArgument("scheduler.perturbation_interval: must be ≥ 1 step, got " +
                           std::to_string(perturbation_interval));
  }
  if (max_steps < 1) return InvalidArgument("scheduler.max_steps: must be ≥ 1, got " + std::to_string(max_steps));
  if (!(quantile_fraction > 0.0 && quantile_fraction <= 0.5)) {
    return InvalidArgument("scheduler.quantile_fraction: must be in (0, 0.5], got " +
                           std::to_string(quantile_fraction));
  }
  if (2 * QuantileSize() > population_size) {
    return InvalidArgument("scheduler.quantile_fraction: " + std::to_string(quantile_fraction) + " of " +
                           std::to_string(population_size) + " members is a quantile of " +
                           std::to_string(QuantileSize()) + ", more than half the population");
  }
  DIAL_RETURN_IF_ERROR(CheckExplore(explore, "scheduler"));
  if (mutable_params.empty()) {
    return InvalidArgument("scheduler.mutable: name at least one searched parameter that may change during training");
  }
  for (const auto& [name, explore_options] : mutable_params) {
    DIAL_RETURN_IF_ERROR(CheckExplore(explore_options, "scheduler.mutable." + name));
  }
  return Status::Ok();
}

int64_t PbtOptions::Generations() const { return (max_steps + perturbation_interval - 1) / perturbation_interval; }

int64_t PbtOptions::TotalTrials() const { return population_size * Generations(); }

int64_t PbtOptions::QuantileSize() const {
  // A small epsilon so that 0.25 · 8 is 2, not 3 by rounding error.
  const double q = std::ceil(quantile_fraction * static_cast<double>(population_size) - 1e-9);
  return std::max<int64_t>(1, static_cast<int64_t>(q));
}

int64_t PbtOptions::StartStep(int64_t generation) const { return generation * perturbation_interval; }

int64_t PbtOptions::EndStep(int64_t generation) const {
  return std::min((generation + 1) * perturbation_interval, max_steps);
}

AttrMap PbtNewMemberAttrs(const PbtOptions& options, int64_t member) { return SegmentAttrs(options, member, 0); }

std::map<int64_t, PbtSegment> PbtSegmentsByNumber(const std::vector<FrozenTrial>& trials) {
  std::vector<const FrozenTrial*> sorted;
  for (const FrozenTrial& t : trials) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const FrozenTrial* a, const FrozenTrial* b) { return a->number < b->number; });
  std::map<int64_t, PbtSegment> out;
  int64_t originals = 0;
  for (const FrozenTrial* t : sorted) {
    const std::optional<int64_t> member = IntAttr(*t, kPbtMemberAttr);
    const std::optional<int64_t> generation = IntAttr(*t, kPbtGenerationAttr);
    const std::optional<int64_t> retried = IntAttr(*t, kFailedTrialAttr);
    const bool original = !retried && !IntAttr(*t, kPbtParentAttr);
    PbtSegment segment;
    if (member && generation) {
      segment = {*member, *generation};
    } else if (retried && out.count(*retried) != 0) {
      segment = out[*retried];
    } else {
      segment = {originals, 0};
    }
    if (original) ++originals;
    out[t->number] = segment;
  }
  return out;
}

PbtDecision DecideNextPbtStep(const std::vector<FrozenTrial>& trials, const PbtOptions& options,
                              StudyDirection direction) {
  using Kind = PbtDecision::Kind;
  PbtDecision decision;
  for (const FrozenTrial& t : trials) {
    if (t.state == TrialState::kWaiting) {
      decision.kind = Kind::kRunWaiting;
      return decision;
    }
  }
  const int64_t population = options.population_size;
  const int64_t generations = options.Generations();
  const int64_t quantile = options.QuantileSize();
  const std::map<int64_t, PbtSegment> segments = PbtSegmentsByNumber(trials);

  // The latest trial of each (member, generation): a retry stands in for the attempt it retries.
  std::vector<std::map<int64_t, const FrozenTrial*>> by_member(static_cast<size_t>(population));
  bool busy = false;
  int64_t originals = 0;
  for (const FrozenTrial& t : trials) {
    if (t.state == TrialState::kRunning) busy = true;
    const PbtSegment& s = segments.at(t.number);
    if (s.generation == 0 && s.member >= originals) originals = s.member + 1;
    if (s.member < 0 || s.member >= population || s.generation < 0 || s.generation >= generations) continue;
    const FrozenTrial*& slot = by_member[static_cast<size_t>(s.member)][s.generation];
    if (slot == nullptr || slot->number < t.number) slot = &t;
  }

  for (int64_t m = 0; m < population; ++m) {
    const auto& chain = by_member[static_cast<size_t>(m)];
    if (chain.empty()) continue;
    const int64_t g = chain.rbegin()->first;
    const FrozenTrial& last = *chain.rbegin()->second;
    if (!IsFinished(last.state) || g + 1 >= generations) continue;
    const RankKey mine = KeyOf(last, m, direction);
    int64_t better = 0, worse = 0, finished_others = 0;
    std::vector<RankKey> finished = {mine};                          // every finished segment of generation g
    std::vector<std::pair<RankKey, const FrozenTrial*>> candidates;  // COMPLETE segments of generation g better than m
    for (int64_t other = 0; other < population; ++other) {
      if (other == m) continue;
      auto it = by_member[static_cast<size_t>(other)].find(g);
      if (it == by_member[static_cast<size_t>(other)].end() || !IsFinished(it->second->state)) continue;
      ++finished_others;
      const RankKey key = KeyOf(*it->second, other, direction);
      finished.push_back(key);
      if (key < mine) {
        ++better;
        if (!key.failed) candidates.emplace_back(key, it->second);
      } else {
        ++worse;
      }
    }
    // Donors: the candidates certainly in the top q, i.e. with at least P − q finished segments known to be worse,
    // whoever finishes later. (Once the generation has finished these are exactly its q best COMPLETE segments.)
    std::vector<std::pair<RankKey, const FrozenTrial*>> donors;
    for (const auto& candidate : candidates) {
      const int64_t below =
          std::count_if(finished.begin(), finished.end(), [&](const RankKey& k) { return candidate.first < k; });
      if (below >= population - quantile) donors.push_back(candidate);
    }
    bool exploit = false;
    if (better >= population - quantile) {
      exploit = true;
    } else if (mine.failed) {
      if (finished_others < population - 1) continue;  // wait for the rest of the generation
      exploit = true;
    } else if (worse >= quantile) {
      exploit = false;
    } else {
      continue;  // not decidable yet
    }
    std::sort(donors.begin(), donors.end());
    if (exploit && donors.empty()) {
      // No member is certainly in the top q yet: wait for more of the generation. (When it has finished and still
      // none qualifies, every segment failed: the member ends.)
      continue;
    }

    decision.kind = Kind::kNextSegment;
    decision.member = m;
    decision.generation = g + 1;
    decision.exploit = exploit;
    decision.attrs = SegmentAttrs(options, m, g + 1);
    decision.attrs[std::string(kPbtParentAttr)] = last.number;
    if (exploit) {
      DecisionRng rng(options.seed, m, g + 1);
      const FrozenTrial& donor = *donors[rng.Index(donors.size())].second;
      Json explored;
      decision.params = Explore(donor, options, rng, explored);
      decision.attrs[std::string(kPbtCheckpointFromAttr)] = donor.number;
      decision.attrs[std::string(kPbtExploitedAttr)] = donor.number;
      decision.attrs[std::string(kPbtExploredAttr)] = explored;
    } else {
      decision.params = last.ExternalParams();
      decision.attrs[std::string(kPbtCheckpointFromAttr)] = last.number;
    }
    return decision;
  }
  if (originals < population) {
    decision.kind = Kind::kNewMember;
    decision.member = originals;
    decision.attrs = PbtNewMemberAttrs(options, originals);
    return decision;
  }
  decision.kind = busy ? Kind::kWait : Kind::kDone;
  return decision;
}

}  // namespace dial
