// The grid sampler: every combination of the configured values exactly once. Workers sharing a study claim
// grid points through the storage's compare-and-set on study system attributes ("dial:grid:<index>"), so no
// point is evaluated twice even with several processes on one database.
#include <algorithm>
#include <cassert>
#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "dial/sampler.h"
#include "dial/study.h"
#include "samplers/builtin_samplers.h"
#include "util/options.h"
#include "util/random.h"

namespace dial {
namespace {

// Beyond this the shuffled order alone would take hundreds of megabytes; such a grid is a mistake.
constexpr uint64_t kMaxGridPoints = 10'000'000;
constexpr std::string_view kPointKeyPrefix = "dial:grid:";
// The study remembers its grid so a rerun with another grid cannot misread the claimed indices.
constexpr std::string_view kSearchSpaceKey = "dial:grid_search_space";
// Trial system attributes, named as Optuna's GridSampler names them.
constexpr std::string_view kGridIdAttr = "grid_id";
constexpr std::string_view kTrialSearchSpaceAttr = "search_space";

// The library's reader, with the parameter named in the message.
Result<ParamValue> GridValueFromJson(const std::string& param, const Json& j) {
  Result<ParamValue> v = ParamValueFromJson(j);
  if (!v.ok()) return v.status().WithContext("sampler 'grid': search_space." + param);
  return v;
}

class GridSampler final : public Sampler {
 public:
  explicit GridSampler(const GridSamplerOptions& options) : space_(options.search_space), rng_(options.seed) {
    for (const auto& [name, values] : space_) {
      names_.push_back(name);
      n_points_ *= values.size();
    }
    order_.resize(n_points_);
    std::iota(order_.begin(), order_.end(), uint64_t{0});
    // Fisher–Yates with our own draws, so the order for a seed is the same on every platform.
    for (uint64_t i = n_points_; i > 1; --i) std::swap(order_[i - 1], order_[internal::UniformIndex(rng_, i)]);
    space_json_ = Json::object();
    for (const auto& [name, values] : space_) {
      Json list = Json::array();
      for (const ParamValue& v : values) list.push_back(ParamValueToJson(v));
      space_json_[name] = list;
    }
  }

  std::string Name() const override { return "grid"; }

  Status BeforeTrial(Study& study, const FrozenTrial& trial) override {
    if (trial.system_attrs.count(std::string(kGridIdAttr))) {
      // Already holds a point (a retried trial): keep it.
      return PointOf(study, trial).status();
    }
    // An enqueued trial brings its own parameters (as in Optuna, it takes no grid point).
    if (trial.system_attrs.count(std::string(kFixedParamsAttr))) return Status::Ok();

    Storage& storage = study.storage();
    DIAL_RETURN_IF_ERROR(CheckSameGrid(study));
    DIAL_ASSIGN_OR_RETURN(AttrMap attrs, storage.GetStudySystemAttrs(study.id()));
    const std::set<uint64_t> taken = ClaimedPoints(attrs);
    for (; cursor_ < order_.size(); ++cursor_) {
      const uint64_t index = order_[cursor_];
      if (taken.count(index)) continue;
      DIAL_ASSIGN_OR_RETURN(bool stored,
                            storage.SetStudySystemAttrIfAbsent(study.id(), PointKey(index), Json(trial.number)));
      if (!stored) continue;  // another worker claimed it since we read the attributes
      ++cursor_;
      claimed_[trial.trial_id] = index;
      Storage::TrialUpdate update;
      update.system_attrs.emplace_back(std::string(kGridIdAttr), Json(index));
      update.system_attrs.emplace_back(std::string(kTrialSearchSpaceAttr), space_json_);
      return storage.UpdateTrial(trial.trial_id, update);
    }
    return OutOfRange("sampler 'grid': all " + std::to_string(n_points_) + " points of the grid are taken");
  }

  Result<double> SampleIndependent(const Study& study, const FrozenTrial& trial, const std::string& name,
                                   const Distribution& dist) override {
    auto pos = std::find(names_.begin(), names_.end(), name);
    if (pos == names_.end()) {
      std::string known;
      for (const std::string& n : names_) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgument("sampler 'grid': parameter '" + name +
                             "' is not in the grid's search_space (grid parameters: " + known + ")");
    }
    const std::vector<ParamValue>& values = space_.at(name);
    ParamValue value;
    DIAL_ASSIGN_OR_RETURN(std::optional<uint64_t> index, PointOf(study, trial));
    if (index) {
      value = values[Coordinate(*index, pos - names_.begin())];
    } else {
      // An enqueued trial that fixed only some parameters: draw the others from the grid's values.
      value = values[internal::UniformIndex(rng_, values.size())];
    }
    Result<double> internal_value = ToInternal(dist, value);
    if (!internal_value.ok() || !Contains(dist, *internal_value)) {
      return InvalidArgument("sampler 'grid': value " + ParamValueToString(value) + " of parameter '" + name +
                             "' is not in its distribution " + DistributionToString(dist));
    }
    return *internal_value;
  }

  bool IsExhausted(const Study& study) override {
    auto attrs = study.storage().GetStudySystemAttrs(study.id());
    if (!attrs.ok()) return false;  // the next BeforeTrial reports the storage error
    return ClaimedPoints(*attrs).size() >= n_points_;
  }

 private:
  static std::string PointKey(uint64_t index) { return std::string(kPointKeyPrefix) + std::to_string(index); }

  std::set<uint64_t> ClaimedPoints(const AttrMap& attrs) const {
    std::set<uint64_t> taken;
    for (auto it = attrs.lower_bound(std::string(kPointKeyPrefix));
         it != attrs.end() && it->first.compare(0, kPointKeyPrefix.size(), kPointKeyPrefix) == 0; ++it) {
      const std::string digits = it->first.substr(kPointKeyPrefix.size());
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
      const uint64_t index = std::stoull(digits);
      if (index < n_points_) taken.insert(index);
    }
    return taken;
  }

  // The first worker records the grid in the study; any later worker must bring the same one.
  Status CheckSameGrid(Study& study) {
    if (grid_checked_) return Status::Ok();
    Storage& storage = study.storage();
    DIAL_ASSIGN_OR_RETURN(bool stored,
                          storage.SetStudySystemAttrIfAbsent(study.id(), std::string(kSearchSpaceKey), space_json_));
    if (!stored) {
      DIAL_ASSIGN_OR_RETURN(AttrMap attrs, storage.GetStudySystemAttrs(study.id()));
      auto it = attrs.find(std::string(kSearchSpaceKey));
      if (it != attrs.end() && it->second != space_json_) {
        return FailedPrecondition("sampler 'grid': study '" + study.name() + "' was run with another grid " +
                                  it->second.dump() + "; this one is " + space_json_.dump());
      }
    }
    grid_checked_ = true;
    return Status::Ok();
  }

  // The trial's grid point: remembered from BeforeTrial, else read from the trial (another process claimed
  // it), else none (an enqueued trial).
  Result<std::optional<uint64_t>> PointOf(const Study& study, const FrozenTrial& trial) {
    if (auto it = claimed_.find(trial.trial_id); it != claimed_.end()) return std::optional<uint64_t>(it->second);
    const AttrMap* attrs = &trial.system_attrs;
    FrozenTrial stored;
    if (!attrs->count(std::string(kGridIdAttr))) {
      DIAL_ASSIGN_OR_RETURN(stored, study.storage().GetTrial(trial.trial_id));
      attrs = &stored.system_attrs;
    }
    auto it = attrs->find(std::string(kGridIdAttr));
    if (it == attrs->end()) return std::optional<uint64_t>();
    if (!it->second.is_number_integer() || it->second.get<int64_t>() < 0 ||
        static_cast<uint64_t>(it->second.get<int64_t>()) >= n_points_) {
      return FailedPrecondition("sampler 'grid': trial " + std::to_string(trial.number) + " has grid_id " +
                                it->second.dump() + " but the grid has " + std::to_string(n_points_) + " points");
    }
    const uint64_t index = static_cast<uint64_t>(it->second.get<int64_t>());
    claimed_[trial.trial_id] = index;
    return std::optional<uint64_t>(index);
  }

  // Mixed-radix decoding of a point index: the last parameter (by name) varies fastest.
  size_t Coordinate(uint64_t index, size_t param) const {
    for (size_t p = names_.size(); p-- > param + 1;) index /= space_.at(names_[p]).size();
    return index % space_.at(names_[param]).size();
  }

  std::map<std::string, std::vector<ParamValue>> space_;
  std::vector<std::string> names_;  // sorted, as the map
  uint64_t n_points_ = 1;
  std::vector<uint64_t> order_;  // the seed-shuffled order in which this worker tries points
  size_t cursor_ = 0;            // every point before it in order_ is claimed (by anyone)
  std::mt19937_64 rng_;
  Json space_json_;
  bool grid_checked_ = false;
  std::map<TrialId, uint64_t> claimed_;  // points of this Study's trials
};

}  // namespace

Status GridSamplerOptions::Validate() const {
  if (search_space.empty()) return InvalidArgument("sampler 'grid': search_space is empty");
  uint64_t n = 1;
  for (const auto& [name, values] : search_space) {
    if (values.empty()) return InvalidArgument("sampler 'grid': search_space." + name + " has no values");
    for (size_t i = 0; i < values.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (ParamValueEquals(values[i], values[j])) {
          return InvalidArgument("sampler 'grid': search_space." + name + " lists " + ParamValueToString(values[i]) +
                                 " twice");
        }
      }
    }
    if (n > kMaxGridPoints / values.size()) {
      return InvalidArgument("sampler 'grid': search_space has more than " + std::to_string(kMaxGridPoints) +
                             " combinations");
    }
    n *= values.size();
  }
  return Status::Ok();
}

std::unique_ptr<Sampler> NewGridSampler(const GridSamplerOptions& options) {
  assert(options.Validate().ok() && "NewGridSampler needs valid options");
  return std::make_unique<GridSampler>(options);
}

namespace internal {

Result<std::unique_ptr<Sampler>> CreateGridSamplerFromJson(const Json& options, uint64_t seed) {
  const std::string what = "sampler 'grid'";
  DIAL_RETURN_IF_ERROR(CheckOptionKeys(what, options, {"search_space", "seed"}));
  GridSamplerOptions opts;
  DIAL_ASSIGN_OR_RETURN(opts.seed, GetSeedOption(what, options, seed));
  if (!options.is_object() || !options.contains("search_space")) {
    return InvalidArgument(what + ": option 'search_space' is required (a mapping of parameter names to lists)");
  }
  const Json& space = options.at("search_space");
  if (!space.is_object()) {
    return InvalidArgument(what + ": option 'search_space' must map parameter names to lists, got " + space.dump());
  }
  for (auto it = space.begin(); it != space.end(); ++it) {
    if (!it->is_array()) {
      return InvalidArgument(what + ": search_space." + it.key() + " must be a list of values, got " + it->dump());
    }
    std::vector<ParamValue>& values = opts.search_space[it.key()];
    for (const Json& v : *it) {
      DIAL_ASSIGN_OR_RETURN(ParamValue pv, GridValueFromJson(it.key(), v));
      values.push_back(std::move(pv));
    }
  }
  DIAL_RETURN_IF_ERROR(opts.Validate());
  return NewGridSampler(opts);
}

}  // namespace internal
}  // namespace dial
