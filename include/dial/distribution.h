// Parameter distributions, as Optuna has them: float, int and categorical. Every parameter value has an
// internal form, a double (a categorical's index into its choices), which is what samplers and storages
// see; and an external form, a ParamValue, which is what the objective sees.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dial/status.h"

namespace dial {

// A categorical choice or an external parameter value. Null (monostate) is allowed as a choice, as in Optuna.
using ParamValue = std::variant<std::monostate, bool, int64_t, double, std::string>;

// "0.01", "adam", "true", "null", "3" — how a value reads in logs, `{name}` substitutions and YAML.
std::string ParamValueToString(const ParamValue& value);
bool ParamValueEquals(const ParamValue& a, const ParamValue& b);

// Uniform on [low, high], or log-uniform when `log`, or on the grid low, low+step, ..., high.
struct FloatDistribution {
  double low = 0.0;
  double high = 1.0;
  std::optional<double> step;  // must divide high − low; incompatible with log
  bool log = false;            // requires low > 0
};

// The largest magnitude of an int parameter's bounds: 2^53. Parameter values are stored as doubles (the
// internal form, and Optuna's trial_params.param_value, a FLOAT column), which hold every integer exactly only up
// to 2^53; beyond it a sampled value could not be stored and read back as itself.
inline constexpr int64_t kMaxIntParamMagnitude = int64_t{1} << 53;

// Integers low, low+step, ..., high; log-uniform when `log` (requires low ≥ 1 and step == 1). Validate() requires
// |low|, |high| ≤ kMaxIntParamMagnitude.
struct IntDistribution {
  int64_t low = 0;
  int64_t high = 1;
  int64_t step = 1;
  bool log = false;
};

struct CategoricalDistribution {
  std::vector<ParamValue> choices;  // non-empty, no duplicates
};

using Distribution = std::variant<FloatDistribution, IntDistribution, CategoricalDistribution>;

// InvalidArgument naming what is wrong ("low (0.1) > high (0.01)"); the caller adds the parameter name. This is
// the check for a distribution dial samples and stores, int bounds within ±kMaxIntParamMagnitude included.
Status Validate(const Distribution& dist);

// True when the internal value lies in the distribution (on its step grid, an index in range).
bool Contains(const Distribution& dist, double internal);
// True when the distribution has exactly one value (low == high, one choice).
bool IsSingle(const Distribution& dist);

// The external value of an internal one. For int, rounds; for categorical, the choice at the index.
ParamValue ToExternal(const Distribution& dist, double internal);
// The internal value of an external one; InvalidArgument if it does not belong to the distribution's type
// (a string for a float) or is not one of the choices. Ints are accepted for floats and vice versa when exact.
Result<double> ToInternal(const Distribution& dist, const ParamValue& value);

// Optuna's check when a parameter name is reused across trials: same kind, same log flag, same choices.
Status CheckCompatible(const Distribution& old_dist, const Distribution& new_dist);
bool DistributionEquals(const Distribution& a, const Distribution& b);

// Optuna's distribution_json: {"name": "FloatDistribution", "attributes": {...}}. The reader also accepts
// Optuna's older names (UniformDistribution, LogUniformDistribution, DiscreteUniformDistribution,
// IntUniformDistribution, IntLogUniformDistribution). Int bounds are read exactly over the whole int64 range, and
// the reader accepts bounds beyond ±kMaxIntParamMagnitude (Optuna writes them) so that such a study stays readable;
// dial refuses to store new values under such a distribution (Validate).
std::string DistributionToJson(const Distribution& dist);
Result<Distribution> DistributionFromJson(std::string_view json);

// Short human form: "float [1e-05, 0.1] log", "int [1, 8] step 1", "categorical [adam, sgd]".
std::string DistributionToString(const Distribution& dist);

// A search space: parameter name → distribution, ordered by name.
using SearchSpace = std::map<std::string, Distribution>;

}  // namespace dial
