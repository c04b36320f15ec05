// Population-based training (docs/pbt.md): a population of members trains in segments of `perturbation_interval`
// steps; after each segment a member in the bottom `quantile_fraction` of its generation copies the checkpoint and
// configuration of a member in the top quantile (exploit) and perturbs or resamples its mutable parameters
// (explore); the others continue with their own.
//
// Every segment is a trial of its own (Optuna's trials have fixed params), so a member's training is a chain of
// trials linked by system attrs: dial:pbt:member, dial:pbt:generation, dial:pbt:start_step / end_step (the steps
// the segment trains: (start, end]), dial:pbt:parent (the member's previous segment), dial:pbt:checkpoint_from (the
// trial whose checkpoint the segment starts from: its parent, or the exploited trial), dial:pbt:exploited and
// dial:pbt:explored ({param: {from, to, how}}) after an exploit. Generation-0 trials are proposed by the study's
// sampler; later segments are enqueued with fixed params by whichever worker finds them decidable, claimed once
// in storage.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dial/distribution.h"
#include "dial/frozen_trial.h"
#include "dial/status.h"

namespace dial {

inline constexpr std::string_view kPbtMemberAttr = "dial:pbt:member";
inline constexpr std::string_view kPbtGenerationAttr = "dial:pbt:generation";
inline constexpr std::string_view kPbtStartStepAttr = "dial:pbt:start_step";
inline constexpr std::string_view kPbtEndStepAttr = "dial:pbt:end_step";
inline constexpr std::string_view kPbtParentAttr = "dial:pbt:parent";
inline constexpr std::string_view kPbtCheckpointFromAttr = "dial:pbt:checkpoint_from";
inline constexpr std::string_view kPbtExploitedAttr = "dial:pbt:exploited";
inline constexpr std::string_view kPbtExploredAttr = "dial:pbt:explored";
// The study system attr prefix of the claims on segments: dial:pbt:segment:<member>:<generation>.
inline constexpr std::string_view kPbtSegmentClaimPrefix = "dial:pbt:segment:";

// How one mutable parameter explores after an exploit.
struct PbtExploreOptions {
  // With this probability the value is drawn again from its distribution; otherwise it is multiplied by one of
  // the factors (chosen uniformly), rounded to its step and clipped to its range. Categoricals are always drawn
  // again.
  double resample_probability = 0.25;
  std::vector<double> perturbation_factors = {0.8, 1.2};
};

struct PbtOptions {
  int64_t population_size = 8;
  int64_t perturbation_interval = 1;  // reported steps per segment
  int64_t max_steps = 10;             // the last segment ends here (it may be shorter than an interval)
  // The bottom share of a generation copies the top share: ceil(quantile_fraction · population_size) members each.
  double quantile_fraction = 0.25;
  // Defaults for the mutable parameters that do not set their own.
  PbtExploreOptions explore;
  // The parameters that change during training, each with how it explores. Only these change after an exploit;
  // every other parameter is the exploited member's (its checkpoint was trained with them).
  std::map<std::string, PbtExploreOptions> mutable_params;
  uint64_t seed = 0;  // explore and the donor choice draw from (seed, member, generation)

  // InvalidArgument naming the option: population < 2, interval or max_steps < 1, quantile_fraction outside
  // (0, 0.5] or a quantile of more than half the population, a factor ≤ 0 or not finite, a probability outside
  // [0, 1], no mutable parameter.
  Status Validate() const;
  // ceil(max_steps / perturbation_interval): segments per member.
  int64_t Generations() const;
  // population_size × Generations(): the trials the schedule plans.
  int64_t TotalTrials() const;
  // ceil(quantile_fraction · population_size) (at least 1).
  int64_t QuantileSize() const;
  int64_t StartStep(int64_t generation) const;  // generation · interval
  int64_t EndStep(int64_t generation) const;    // min((generation + 1) · interval, max_steps)
};

// Where a trial sits in the population. A trial without PBT attrs is a generation-0 segment whose member is its
// rank by number among such trials (so a trial created but not yet labelled is still counted); a retry without
// them belongs to the member of the trial it retries.
struct PbtSegment {
  int64_t member = -1;
  int64_t generation = 0;
};
std::map<int64_t, PbtSegment> PbtSegmentsByNumber(const std::vector<FrozenTrial>& trials);

// What a worker should do next in a PBT study.
struct PbtDecision {
  enum class Kind {
    kRunWaiting,   // a WAITING trial exists (an enqueued segment or a retry): take it
    kNextSegment,  // enqueue `member`'s segment at `generation` with `params` and `attrs`
    kNewMember,    // sample a new generation-0 member `member`
    kWait,         // the next decisions need segments that are still running
    kDone,         // every member has run its last segment (or none can go on)
  };
  Kind kind = Kind::kDone;
  int64_t member = -1;
  int64_t generation = 0;
  bool exploit = false;
  std::map<std::string, ParamValue> params;  // kNextSegment: the segment's fixed params
  AttrMap attrs;                             // kNextSegment / kNewMember: the segment's system attrs
};

// The PBT schedule over `trials` (all of the study's). Rule (asynchronous, ranked within a generation): when a
// member's segment of generation g has finished it is ranked among the finished segments of generation g (the same
// steps, so a fair comparison; COMPLETE by the first objective in `direction`, ties to the lower member; FAIL and
// PRUNED rank last). With q = QuantileSize() of P members:
//   - exploit once at least P − q members are known to be better (it is among the q worst, whoever finishes
//     later); the donor is drawn uniformly from the COMPLETE segments of generation g that are certainly among the
//     q best (at least P − q finished segments are worse), waiting until there is one;
//   - continue once at least q members are known to be worse (it cannot be among the q worst);
//   - otherwise wait. One of the two always holds once the generation has finished, so nothing waits forever.
// A FAIL or PRUNED segment has no checkpoint to continue from: it exploits as soon as it is known to be in the
// bottom, or once its generation has finished with at least one COMPLETE segment; with none, the member ends.
// Members are decided in member order; a segment already in `trials` is not decided again (a claimed one that is
// not stored yet is the caller's to skip: see the worker loop).
PbtDecision DecideNextPbtStep(const std::vector<FrozenTrial>& trials, const PbtOptions& options,
                              StudyDirection direction);

// The attrs of a generation-0 segment of `member`.
AttrMap PbtNewMemberAttrs(const PbtOptions& options, int64_t member);

}  // namespace dial
