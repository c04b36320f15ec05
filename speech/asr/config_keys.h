// One definition per trainer key: its name, where it is stored, the rule its value obeys and one line of meaning.
// The model's keys (AsrModelOptions) and the trainer's own (AsrTrainConfig) are both defined this way; from these
// tables come the JSON reader, ToJson, the per-key checks and their messages, `dial train --help`/`--keys` and the
// key tables of docs/asr-training.md (a test compares them). Plain C++: no torch.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "dial/frozen_trial.h"  // Json
#include "dial/status.h"

namespace dial::speech::keys {

// The rule a key's value obeys, checked by CheckRule with a message naming the key.
struct AnyValue {};  // free text or a flag: nothing to check beyond its type
struct OneOf {       // a closed set of words
  std::vector<std::string> values;
};
struct IntAtLeast {  // an integer ≥ low
  int64_t low = 0;
};
struct RealRange {  // a real number in [low, high], either end open; high may be +∞
  double low = 0.0;
  double high = 0.0;
  bool low_open = false;
  bool high_open = false;
};
using Rule = std::variant<AnyValue, OneOf, IntAtLeast, RealRange>;

RealRange Positive();                         // (0, ∞)
RealRange AtLeastReal(double low);            // [low, ∞)
RealRange Closed(double low, double high);    // [low, high]
RealRange HalfOpen(double low, double high);  // [low, high)

// Where a key of config type C lives.
template <class C>
using Field = std::variant<std::string C::*, int C::*, int64_t C::*, uint64_t C::*, double C::*, bool C::*>;

template <class C>
struct KeySpec {
  const char* name;
  const char* group;  // the docs' section: "Data", "Front end", "Model", ...
  Field<C> field;
  Rule rule;
  const char* doc;  // one line: what the key does (Markdown)
  // Shown instead of the default value where the default is computed ("DATA/train") or absent ("(required)").
  const char* default_text = nullptr;
  // May differ when a run resumes from its checkpoint (it does not shape model, data or optimiser).
  bool resumable = false;
};

// Check one value against its rule: "batch_size (0) must be >= 1", "encoder (rnn) must be one of lstm, gru, ...".
Status CheckWord(const std::string& key, const Rule& rule, const std::string& value);
Status CheckInteger(const std::string& key, const Rule& rule, int64_t value);
Status CheckReal(const std::string& key, const Rule& rule, double value);
// The rule in words for tables and --help: "lstm, gru", "≥ 1", "[0, 1)", "> 0"; empty for AnyValue.
std::string RuleText(const Rule& rule);
// A number as the docs and messages print it: 0.002, 1e-09, 16000.
std::string FormatNumber(double value);

// Sets a field from JSON: a wrong type, an out-of-range integer or a non-whole float for an integer key is an
// InvalidArgument naming the key. Integers are accepted for float keys, whole floats (3.0) for integer keys.
template <class C>
Status SetField(C* config, const Field<C>& field, const std::string& key, const Json& v);

template <class C>
Json GetField(const C& config, const Field<C>& field) {
  return std::visit([&](auto member) { return Json(config.*member); }, field);
}

// Checks the field's current value against the spec's rule.
template <class C>
Status CheckField(const C& config, const KeySpec<C>& spec) {
  return std::visit(
      [&](auto member) -> Status {
        using T = std::remove_cv_t<std::remove_reference_t<decltype(config.*member)>>;
        if constexpr (std::is_same_v<T, std::string>) {
          return CheckWord(spec.name, spec.rule, config.*member);
        } else if constexpr (std::is_same_v<T, bool>) {
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, double>) {
          return CheckReal(spec.name, spec.rule, config.*member);
        } else {
          return CheckInteger(spec.name, spec.rule, static_cast<int64_t>(config.*member));
        }
      },
      spec.field);
}

// Implementation details of SetField, shared by its instantiations.
namespace detail {
Status ReadString(const std::string& key, const Json& v, std::string* out);
Status ReadBool(const std::string& key, const Json& v, bool* out);
Status ReadDouble(const std::string& key, const Json& v, double* out);
Status ReadInteger(const std::string& key, const Json& v, int64_t low, uint64_t high, int64_t* as_signed,
                   uint64_t* as_unsigned);
}  // namespace detail

template <class C>
Status SetField(C* config, const Field<C>& field, const std::string& key, const Json& v) {
  return std::visit(
      [&](auto member) -> Status {
        using T = std::remove_reference_t<decltype(config->*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return detail::ReadString(key, v, &(config->*member));
        } else if constexpr (std::is_same_v<T, bool>) {
          return detail::ReadBool(key, v, &(config->*member));
        } else if constexpr (std::is_same_v<T, double>) {
          return detail::ReadDouble(key, v, &(config->*member));
        } else {
          int64_t s = 0;
          uint64_t u = 0;
          const int64_t low = std::is_signed_v<T> ? static_cast<int64_t>(std::numeric_limits<T>::min()) : 0;
          DIAL_RETURN_IF_ERROR(
              detail::ReadInteger(key, v, low, static_cast<uint64_t>(std::numeric_limits<T>::max()), &s, &u));
          config->*member = std::is_signed_v<T> ? static_cast<T>(s) : static_cast<T>(u);
          return Status::Ok();
        }
      },
      field);
}

}  // namespace dial::speech::keys
