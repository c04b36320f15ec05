// Hyperband (Li et al. 2018, JMLR 18(185)) as Optuna 3.1's HyperbandPruner runs it: several asynchronous
// successive-halving brackets, each trial in one bracket chosen from (study name, trial number), competing and
// sampled only within it.
#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "dial/pruner.h"
#include "dial/study.h"
#include "pruners/builtin_pruners.h"
#include "util/options.h"

namespace dial {
namespace {

// Where workers agree on an "auto" max_resource (dial's own key; Optuna keeps it in the pruner object only).
constexpr char kAutoMaxResourceAttr[] = "dial:hyperband_max_resource";
// The trial's bracket, written with its first rung value (dial's own key: Optuna recomputes it).
constexpr char kBracketAttr[] = "dial:hyperband_bracket";
constexpr int64_t kIntMax = std::numeric_limits<int>::max();
constexpr int64_t kMaxBudget = int64_t{1} << 50;  // ≥ any bracket's trial share worth keeping exact

// The reflected CRC-32 table for polynomial 0xEDB88320.
constexpr std::array<uint32_t, 256> MakeCrcTable() {
  constexpr uint32_t kPolynomial = 0xEDB88320u;
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? kPolynomial ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

class HyperbandPruner final : public Pruner {
 public:
  explicit HyperbandPruner(const HyperbandPrunerOptions& options) : options_(options) {}

  std::string Name() const override { return "hyperband"; }
  bool FiltersSamplerView() const override { return true; }

  Result<bool> Prune(const Study& study, const FrozenTrial& trial) override {
    DIAL_RETURN_IF_ERROR(CheckSingleObjective(study));
    if (trial.intermediate_values.empty()) return false;
    DIAL_ASSIGN_OR_RETURN(std::shared_ptr<const internal::HyperbandBrackets> brackets, Brackets(study));
    if (brackets == nullptr) return false;
    const int bracket = brackets->BracketOf(study.name(), trial.number);
    internal::SuccessiveHalvingRule rule;
    rule.min_resource = options_.min_resource;
    rule.reduction_factor = options_.reduction_factor;
    rule.min_early_stopping_rate = bracket;  // bracket b starts pruning at min_resource · η^b
    rule.bootstrap_count = options_.bootstrap_count;
    return internal::PruneBySuccessiveHalving(study, trial, rule, SameBracket(study, brackets, bracket),
                                              AttrMap{{kBracketAttr, bracket}}, open_rungs_);
  }

  Result<TrialFilter> SamplerView(const Study& study, const FrozenTrial& trial) override {
    DIAL_RETURN_IF_ERROR(CheckSingleObjective(study));
    DIAL_ASSIGN_OR_RETURN(std::shared_ptr<const internal::HyperbandBrackets> brackets, Brackets(study));
    if (brackets == nullptr) return TrialFilter();  // brackets not known yet: one bracket, as in Optuna
    return SameBracket(study, brackets, brackets->BracketOf(study.name(), trial.number));
  }

 private:
  static TrialFilter SameBracket(const Study& study, std::shared_ptr<const internal::HyperbandBrackets> brackets,
                                 int bracket) {
    return [brackets = std::move(brackets), name = study.name(), bracket](const FrozenTrial& t) {
      return brackets->BracketOf(name, t.number) == bracket;
    };
  }

  static Status CheckSingleObjective(const Study& study) {
    if (!study.is_multi_objective()) return Status::Ok();
    return FailedPrecondition("pruner 'hyperband' cannot prune a study with " +
                              std::to_string(study.directions().size()) +
                              " objectives: its brackets rank single intermediate values");
  }

  // The brackets, set up on first use once max_resource is known; nullptr before that, or when there are none
  // (an "auto" max_resource below min_resource, as Optuna: then nothing is pruned).
  Result<std::shared_ptr<const internal::HyperbandBrackets>> Brackets(const Study& study) {
    if (!brackets_) {
      std::optional<int64_t> max_resource = options_.max_resource;
      if (!max_resource) {
        // Steps are counted from 0: a trial whose last report is step s ran s + 1 steps.
        DIAL_ASSIGN_OR_RETURN(max_resource, internal::AgreedAutoResource(study, kAutoMaxResourceAttr,
                                                                         [](int64_t last) { return last + 1; }));
        if (!max_resource) return std::shared_ptr<const internal::HyperbandBrackets>();
      }
      brackets_ = std::make_shared<const internal::HyperbandBrackets>(
          internal::HyperbandBrackets::Make(options_.min_resource, *max_resource, options_.reduction_factor));
    }
    if (brackets_->n_brackets() == 0) return std::shared_ptr<const internal::HyperbandBrackets>();
    return brackets_;
  }

  HyperbandPrunerOptions options_;
  std::shared_ptr<const internal::HyperbandBrackets> brackets_;  // set once max_resource is known
  internal::OpenRungs open_rungs_;  // per trial, the first rung not yet completed (see PruneBySuccessiveHalving)
};

}  // namespace

namespace internal {

uint32_t Crc32(std::string_view bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) crc = kCrcTable[(crc ^ b) & 0xFFu] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

HyperbandBrackets HyperbandBrackets::Make(int64_t min_resource, int64_t max_resource, int reduction_factor) {
  assert(min_resource >= 1 && reduction_factor >= 2);
  HyperbandBrackets out;
  // n = ⌊log_η(R / r)⌋ + 1, computed as log(R / r) / log(η) in doubles, as Python's math.log(x, base) does, so
  // that both count the same brackets where the ratio is an exact power of η.
  const double ratio = static_cast<double>(max_resource) / static_cast<double>(min_resource);
  const int n = static_cast<int>(std::floor(std::log(ratio) / std::log(static_cast<double>(reduction_factor)))) + 1;
  for (int b = 0; b < n; ++b) {
    // Bracket b, s = n − 1 − b rungs of halving, gets ⌈n · η^s / (s + 1)⌉: Hyperband's trial count for that
    // bracket (Algorithm 1), used as its share of the trials.
    // Saturated at kMaxBudget, far beyond any real R / r, so that the sum of budgets cannot overflow.
    const int s = n - 1 - b;
    int64_t numerator = n;
    for (int k = 0; k < s; ++k) {
      numerator = numerator > kMaxBudget / reduction_factor ? kMaxBudget : numerator * reduction_factor;
    }
    out.budgets.push_back((numerator + s) / (s + 1));
    out.total_budget += out.budgets.back();
  }
  return out;
}

int HyperbandBrackets::BracketOf(std::string_view study_name, int64_t number) const {
  assert(total_budget > 0);
  const std::string key = std::string(study_name) + "_" + std::to_string(number);
  int64_t left = static_cast<int64_t>(Crc32(key) % static_cast<uint64_t>(total_budget));
  for (int b = 0; b < n_brackets(); ++b) {
    left -= budgets[b];
    if (left < 0) return b;
  }
  assert(false && "the budgets sum to total_budget");
  return n_brackets() - 1;
}

}  // namespace internal

Status HyperbandPrunerOptions::Validate() const {
  const std::string what = "pruner 'hyperband': ";
  if (min_resource < 1) return InvalidArgument(what + "min_resource must be >= 1, got " + std::to_string(min_resource));
  if (max_resource && *max_resource < min_resource) {
    return InvalidArgument(what + "max_resource must be >= min_resource (" + std::to_string(min_resource) +
                           ") or \"auto\", got " + std::to_string(*max_resource));
  }
  if (reduction_factor < 2) {
    return InvalidArgument(what + "reduction_factor must be >= 2, got " + std::to_string(reduction_factor));
  }
  if (bootstrap_count < 0) {
    return InvalidArgument(what + "bootstrap_count must be >= 0, got " + std::to_string(bootstrap_count));
  }
  if (bootstrap_count > 0 && !max_resource) {
    return InvalidArgument(what + "bootstrap_count > 0 needs an explicit max_resource, not \"auto\"");
  }
  return Status::Ok();
}

std::unique_ptr<Pruner> NewHyperbandPruner(const HyperbandPrunerOptions& options) {
  assert(options.Validate().ok() && "NewHyperbandPruner needs valid options");
  return std::make_unique<HyperbandPruner>(options);
}

namespace internal {

Result<std::unique_ptr<Pruner>> CreateHyperbandPrunerFromJson(const Json& options) {
  const std::string what = "pruner 'hyperband'";
  DIAL_RETURN_IF_ERROR(
      CheckOptionKeys(what, options, {"min_resource", "max_resource", "reduction_factor", "bootstrap_count"}));
  HyperbandPrunerOptions opts;
  DIAL_ASSIGN_OR_RETURN(opts.min_resource, GetIntOption(what, options, "min_resource", opts.min_resource, 1));
  DIAL_ASSIGN_OR_RETURN(opts.max_resource,
                        GetIntOrAutoOption(what, options, "max_resource", "an integer >= min_resource", 1));
  DIAL_ASSIGN_OR_RETURN(opts.reduction_factor,
                        GetIntOption(what, options, "reduction_factor", opts.reduction_factor, 2, kIntMax));
  DIAL_ASSIGN_OR_RETURN(opts.bootstrap_count,
                        GetIntOption(what, options, "bootstrap_count", opts.bootstrap_count, 0, kIntMax));
  DIAL_RETURN_IF_ERROR(opts.Validate());
  return NewHyperbandPruner(opts);
}

}  // namespace internal
}  // namespace dial
