// Distributions: validation, internal/external conversion, and Optuna's distribution_json encoding.
#include "dial/distribution.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "core/distribution_internal.h"
#include "dial/frozen_trial.h"

namespace dial {
namespace {

// Relative tolerance when checking that a step divides a float range or that a value lies on the step grid:
// ranges such as [0.1, 0.3] with step 0.1 are not exact in binary floating point.
constexpr double kStepTolerance = 1e-8;

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  // Shortest form that reads back to the same double, as Python's repr does.
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

bool OnStepGrid(double offset, double step) {
  const double k = std::round(offset / step);
  return std::fabs(offset - k * step) <= kStepTolerance * std::max(1.0, std::fabs(offset));
}

Json ChoiceToJson(const ParamValue& v) { return ParamValueToJson(v); }

// 2^63 as a double: doubles in [-2^63, 2^63) convert to int64 without overflow.
constexpr double kTwoTo63 = 0x1p63;

// high − low + ... computed without overflow: the number of integers from low to high, less one, as unsigned.
uint64_t IntWidth(const IntDistribution& d) { return static_cast<uint64_t>(d.high) - static_cast<uint64_t>(d.low); }

// The integer nearest to `v`, saturated to the int64 range (a stored param_value may be rounded up to 2^63).
int64_t SaturatingRound(double v) {
  const double r = std::round(v);
  if (r >= kTwoTo63) return std::numeric_limits<int64_t>::max();
  if (r < -kTwoTo63) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(r);
}

// Validate(), with `storable_ints` false for distributions read from a storage: their int bounds may lie
// beyond ±kMaxIntParamMagnitude (Optuna writes such), and the study must stay readable.
Status ValidateDistribution(const Distribution& dist, bool storable_ints);

}  // namespace

std::string ParamValueToString(const ParamValue& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "null"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return FormatDouble(d); }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(Visitor{}, value);
}

bool ParamValueEquals(const ParamValue& a, const ParamValue& b) {
  // 1 and 1.0 are the same value (as in Python); true and 1 are not (YAML users mean different things).
  const auto as_number = [](const ParamValue& v) -> std::optional<double> {
    if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v)) return *d;
    return std::nullopt;
  };
  const auto na = as_number(a), nb = as_number(b);
  if (na && nb) return *na == *nb || (std::isnan(*na) && std::isnan(*nb));
  return a == b;
}

namespace internal {

std::optional<std::pair<size_t, size_t>> FindDuplicateChoice(const std::vector<ParamValue>& choices) {
  // A canonical form per class of ParamValueEquals: numbers as the bits of their double (1 and 1.0 alike, -0.0 as
  // 0.0, every NaN as one), the other kinds as they are; so a hash set finds what comparing every pair would.
  using Canonical = std::variant<std::monostate, bool, uint64_t, std::string_view>;
  const auto canonical = [](const ParamValue& v) -> Canonical {
    if (std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v)) {
      double d = std::holds_alternative<int64_t>(v) ? static_cast<double>(std::get<int64_t>(v)) : std::get<double>(v);
      if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
      if (d == 0.0) d = 0.0;
      return std::bit_cast<uint64_t>(d);
    }
    if (const auto* b = std::get_if<bool>(&v)) return *b;
    if (const auto* s = std::get_if<std::string>(&v)) return std::string_view(*s);
    return std::monostate{};
  };
  std::unordered_map<Canonical, size_t> first;
  first.reserve(choices.size());
  for (size_t i = 0; i < choices.size(); ++i) {
    auto [it, inserted] = first.emplace(canonical(choices[i]), i);
    if (!inserted) return std::pair<size_t, size_t>{it->second, i};
  }
  return std::nullopt;
}

}  // namespace internal

Status Validate(const Distribution& dist) { return ValidateDistribution(dist, /*storable_ints=*/true); }

namespace {

Status ValidateDistribution(const Distribution& dist, bool storable_ints) {
  if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
    if (!std::isfinite(f->low) || !std::isfinite(f->high)) {
      return InvalidArgument("low (" + FormatDouble(f->low) + ") and high (" + FormatDouble(f->high) +
                             ") must be finite");
    }
    if (f->low > f->high) {
      return InvalidArgument("low (" + FormatDouble(f->low) + ") > high (" + FormatDouble(f->high) + ")");
    }
    if (f->log && f->low <= 0.0) {
      return InvalidArgument("log scale needs low > 0, got low = " + FormatDouble(f->low));
    }
    if (f->step) {
      if (f->log) return InvalidArgument("step and log cannot be used together");
      if (!(*f->step > 0.0) || !std::isfinite(*f->step)) {
        return InvalidArgument("step must be > 0, got " + FormatDouble(*f->step));
      }
      if (!OnStepGrid(f->high - f->low, *f->step)) {
        return InvalidArgument("step (" + FormatDouble(*f->step) + ") does not divide the range [" +
                               FormatDouble(f->low) + ", " + FormatDouble(f->high) + "]");
      }
    }
    return Status::Ok();
  }
  if (const auto* i = std::get_if<IntDistribution>(&dist)) {
    if (i->low > i->high) {
      return InvalidArgument("low (" + std::to_string(i->low) + ") > high (" + std::to_string(i->high) + ")");
    }
    if (i->step < 1) return InvalidArgument("step must be >= 1, got " + std::to_string(i->step));
    if (storable_ints && (i->low < -kMaxIntParamMagnitude || i->high > kMaxIntParamMagnitude)) {
      return InvalidArgument("low (" + std::to_string(i->low) + ") and high (" + std::to_string(i->high) +
                             ") must lie within -2^53 .. 2^53 (" + std::to_string(-kMaxIntParamMagnitude) + " .. " +
                             std::to_string(kMaxIntParamMagnitude) +
                             "): parameter values are stored as doubles (Optuna's param_value column), which hold "
                             "integers exactly only up to 2^53");
    }
    if (i->log) {
      if (i->low < 1) return InvalidArgument("log scale needs low >= 1, got low = " + std::to_string(i->low));
      if (i->step != 1) return InvalidArgument("step and log cannot be used together");
    }
    if (IntWidth(*i) % static_cast<uint64_t>(i->step) != 0) {
      return InvalidArgument("step (" + std::to_string(i->step) + ") does not divide the range [" +
                             std::to_string(i->low) + ", " + std::to_string(i->high) + "]");
    }
    return Status::Ok();
  }
  const auto& c = std::get<CategoricalDistribution>(dist);
  if (c.choices.empty()) return InvalidArgument("choices must not be empty");
  if (auto duplicate = internal::FindDuplicateChoice(c.choices)) {
    return InvalidArgument("duplicate choice " + ParamValueToString(c.choices[duplicate->first]));
  }
  return Status::Ok();
}

}  // namespace

bool Contains(const Distribution& dist, double v) {
  if (std::isnan(v)) return false;
  if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
    if (v < f->low || v > f->high) return false;
    return !f->step || OnStepGrid(v - f->low, *f->step);
  }
  if (const auto* i = std::get_if<IntDistribution>(&dist)) {
    if (v != std::round(v) || v < -kTwoTo63 || v >= kTwoTo63) return false;
    const auto n = static_cast<int64_t>(v);
    return n >= i->low && n <= i->high &&
           (static_cast<uint64_t>(n) - static_cast<uint64_t>(i->low)) % static_cast<uint64_t>(i->step) == 0;
  }
  const auto& c = std::get<CategoricalDistribution>(dist);
  return v == std::round(v) && v >= 0 && v < static_cast<double>(c.choices.size());
}

bool IsSingle(const Distribution& dist) {
  if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
    if (f->low == f->high) return true;
    return f->step && (f->high - f->low) < *f->step;
  }
  if (const auto* i = std::get_if<IntDistribution>(&dist)) return IntWidth(*i) < static_cast<uint64_t>(i->step);
  return std::get<CategoricalDistribution>(dist).choices.size() == 1;
}

ParamValue ToExternal(const Distribution& dist, double internal) {
  if (std::holds_alternative<FloatDistribution>(dist)) return internal;
  if (std::holds_alternative<IntDistribution>(dist)) return SaturatingRound(internal);
  const auto& c = std::get<CategoricalDistribution>(dist);
  const auto index = static_cast<size_t>(std::llround(internal));
  assert(index < c.choices.size());
  return c.choices[index];
}

Result<double> ToInternal(const Distribution& dist, const ParamValue& value) {
  if (std::holds_alternative<FloatDistribution>(dist)) {
    if (const auto* d = std::get_if<double>(&value)) return *d;
    if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
    return InvalidArgument("value " + ParamValueToString(value) + " is not a number");
  }
  if (std::holds_alternative<IntDistribution>(dist)) {
    if (const auto* i = std::get_if<int64_t>(&value)) {
      // Beyond 2^53 the double is another integer: refuse rather than store a value the objective did not give.
      const double d = static_cast<double>(*i);
      if (d >= kTwoTo63 || static_cast<int64_t>(d) != *i) {
        return InvalidArgument("value " + std::to_string(*i) +
                               " is beyond 2^53 and cannot be stored exactly (parameter values are doubles)");
      }
      return d;
    }
    if (const auto* d = std::get_if<double>(&value); d && *d == std::round(*d)) return *d;
    return InvalidArgument("value " + ParamValueToString(value) + " is not an integer");
  }
  const auto& c = std::get<CategoricalDistribution>(dist);
  for (size_t k = 0; k < c.choices.size(); ++k) {
    if (ParamValueEquals(c.choices[k], value)) return static_cast<double>(k);
  }
  return InvalidArgument("value " + ParamValueToString(value) + " is not one of the choices");
}

bool DistributionEquals(const Distribution& a, const Distribution& b) {
  if (a.index() != b.index()) return false;
  if (const auto* fa = std::get_if<FloatDistribution>(&a)) {
    const auto& fb = std::get<FloatDistribution>(b);
    return fa->low == fb.low && fa->high == fb.high && fa->log == fb.log && fa->step == fb.step;
  }
  if (const auto* ia = std::get_if<IntDistribution>(&a)) {
    const auto& ib = std::get<IntDistribution>(b);
    return ia->low == ib.low && ia->high == ib.high && ia->log == ib.log && ia->step == ib.step;
  }
  const auto& ca = std::get<CategoricalDistribution>(a).choices;
  const auto& cb = std::get<CategoricalDistribution>(b).choices;
  if (ca.size() != cb.size()) return false;
  for (size_t k = 0; k < ca.size(); ++k) {
    if (ca[k].index() != cb[k].index() || !ParamValueEquals(ca[k], cb[k])) return false;
  }
  return true;
}

Status CheckCompatible(const Distribution& old_dist, const Distribution& new_dist) {
  static constexpr const char* kKinds[] = {"float", "int", "categorical"};
  if (old_dist.index() != new_dist.index()) {
    return InvalidArgument(std::string("is ") + kKinds[old_dist.index()] + " in this study, cannot become " +
                           kKinds[new_dist.index()]);
  }
  const auto log_of = [](const Distribution& d) -> std::optional<bool> {
    if (const auto* f = std::get_if<FloatDistribution>(&d)) return f->log;
    if (const auto* i = std::get_if<IntDistribution>(&d)) return i->log;
    return std::nullopt;
  };
  if (log_of(old_dist) != log_of(new_dist)) {
    return InvalidArgument(std::string("uses log = ") + (*log_of(old_dist) ? "true" : "false") +
                           " in this study, cannot change it");
  }
  if (std::holds_alternative<CategoricalDistribution>(old_dist) && !DistributionEquals(old_dist, new_dist)) {
    return InvalidArgument("has choices " + DistributionToString(old_dist) +
                           " in this study; categorical choices cannot change");
  }
  return Status::Ok();
}

std::string DistributionToJson(const Distribution& dist) {
  Json j;
  if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
    j["name"] = "FloatDistribution";
    j["attributes"] = {
        {"step", f->step ? Json(*f->step) : Json(nullptr)}, {"low", f->low}, {"high", f->high}, {"log", f->log}};
  } else if (const auto* i = std::get_if<IntDistribution>(&dist)) {
    j["name"] = "IntDistribution";
    j["attributes"] = {{"log", i->log}, {"step", i->step}, {"low", i->low}, {"high", i->high}};
  } else {
    Json choices = Json::array();
    for (const auto& c : std::get<CategoricalDistribution>(dist).choices) choices.push_back(ChoiceToJson(c));
    j["name"] = "CategoricalDistribution";
    j["attributes"] = {{"choices", choices}};
  }
  return j.dump();
}

Result<Distribution> DistributionFromJson(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j.contains("attributes") ||
      !j["name"].is_string() || !j["attributes"].is_object()) {
    return InvalidArgument("malformed distribution_json: " + std::string(text));
  }
  const std::string name = j["name"];
  const Json& a = j["attributes"];
  const auto number = [&](const char* key) -> std::optional<double> {
    if (!a.contains(key) || !a[key].is_number()) return std::nullopt;
    return a[key].get<double>();
  };
  // Exact over the whole int64 range: an integer is read as one, never through a double.
  const auto integer = [&](const char* key) -> std::optional<int64_t> {
    if (!a.contains(key) || !a[key].is_number()) return std::nullopt;
    const Json& v = a[key];
    if (v.is_number_unsigned()) {
      const auto u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    if (v.is_number_integer()) return v.get<int64_t>();
    const double d = v.get<double>();
    if (d != std::round(d) || d < -kTwoTo63 || d >= kTwoTo63) return std::nullopt;
    return static_cast<int64_t>(d);
  };
  const auto boolean = [&](const char* key) { return a.contains(key) && a[key].is_boolean() && a[key].get<bool>(); };
  Distribution dist;
  const auto bad = [&](const char* what) {
    return InvalidArgument("distribution_json " + name + ": " + what + ": " + std::string(text));
  };
  if (name == "FloatDistribution" || name == "UniformDistribution" || name == "LogUniformDistribution" ||
      name == "DiscreteUniformDistribution") {
    FloatDistribution f;
    auto low = number("low"), high = number("high");
    if (!low || !high) return bad("low and high must be numbers");
    f.low = *low;
    f.high = *high;
    f.log = name == "LogUniformDistribution" || (name == "FloatDistribution" && boolean("log"));
    if (name == "DiscreteUniformDistribution") {
      f.step = number("q");
      if (!f.step) return bad("q must be a number");
    } else if (name == "FloatDistribution") {
      f.step = number("step");
    }
    dist = f;
  } else if (name == "IntDistribution" || name == "IntUniformDistribution" || name == "IntLogUniformDistribution") {
    IntDistribution i;
    auto low = integer("low"), high = integer("high");
    if (!low || !high) return bad("low and high must be integers in the int64 range");
    i.low = *low;
    i.high = *high;
    i.step = integer("step").value_or(1);
    i.log = name == "IntLogUniformDistribution" || (name == "IntDistribution" && boolean("log"));
    // Optuna's old IntLogUniformDistribution carried a deprecated step that it ignores.
    if (i.log) i.step = 1;
    dist = i;
  } else if (name == "CategoricalDistribution") {
    if (!a.contains("choices") || !a["choices"].is_array()) return bad("choices must be a list");
    CategoricalDistribution c;
    for (const auto& choice : a["choices"]) {
      auto v = ParamValueFromJson(choice);
      if (!v.ok()) return bad("a choice is a list or object");
      c.choices.push_back(*v);
    }
    dist = c;
  } else {
    return InvalidArgument("unknown distribution '" + name + "' in distribution_json");
  }
  if (auto s = ValidateDistribution(dist, /*storable_ints=*/false); !s.ok()) {
    return s.WithContext("distribution_json " + std::string(text));
  }
  return dist;
}

std::string DistributionToString(const Distribution& dist) {
  std::ostringstream out;
  if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
    out << "float [" << FormatDouble(f->low) << ", " << FormatDouble(f->high) << "]";
    if (f->step) out << " step " << FormatDouble(*f->step);
    if (f->log) out << " log";
  } else if (const auto* i = std::get_if<IntDistribution>(&dist)) {
    out << "int [" << i->low << ", " << i->high << "]";
    if (i->step != 1) out << " step " << i->step;
    if (i->log) out << " log";
  } else {
    out << "categorical [";
    const auto& choices = std::get<CategoricalDistribution>(dist).choices;
    for (size_t k = 0; k < choices.size(); ++k) out << (k ? ", " : "") << ParamValueToString(choices[k]);
    out << "]";
  }
  return out.str();
}

}  // namespace dial
