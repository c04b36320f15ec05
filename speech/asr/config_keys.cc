// The rules of the trainer's keys: checks with messages that name the key, and the same rules in words.
#include "speech/asr/config_keys.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace dial::speech::keys {
namespace {

std::string JoinWords(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

bool InRange(const RealRange& r, double v) {
  const bool above = r.low_open ? v > r.low : v >= r.low;
  const bool below = std::isinf(r.high) ? std::isfinite(v) : (r.high_open ? v < r.high : v <= r.high);
  return above && below;
}

}  // namespace

RealRange Positive() { return {0.0, std::numeric_limits<double>::infinity(), true, false}; }
RealRange AtLeastReal(double low) { return {low, std::numeric_limits<double>::infinity(), false, false}; }
RealRange Closed(double low, double high) { return {low, high, false, false}; }
RealRange HalfOpen(double low, double high) { return {low, high, false, true}; }

std::string FormatNumber(double value) {
  std::ostringstream out;
  out.precision(6);
  out << value;
  return out.str();
}

std::string RuleText(const Rule& rule) {
  if (const auto* one_of = std::get_if<OneOf>(&rule)) return JoinWords(one_of->values);
  if (const auto* at_least = std::get_if<IntAtLeast>(&rule)) return "≥ " + std::to_string(at_least->low);
  if (const auto* r = std::get_if<RealRange>(&rule)) {
    if (std::isinf(r->high)) return (r->low_open ? "> " : "≥ ") + FormatNumber(r->low);
    return std::string(r->low_open ? "(" : "[") + FormatNumber(r->low) + ", " + FormatNumber(r->high) +
           (r->high_open ? ")" : "]");
  }
  return "";
}

Status CheckWord(const std::string& key, const Rule& rule, const std::string& value) {
  const auto* one_of = std::get_if<OneOf>(&rule);
  if (one_of == nullptr) return Status::Ok();
  for (const std::string& v : one_of->values) {
    if (v == value) return Status::Ok();
  }
  return InvalidArgument(key + " (" + value + ") must be one of " + JoinWords(one_of->values));
}

Status CheckInteger(const std::string& key, const Rule& rule, int64_t value) {
  if (const auto* at_least = std::get_if<IntAtLeast>(&rule); at_least != nullptr && value < at_least->low) {
    return InvalidArgument(key + " (" + std::to_string(value) + ") must be >= " + std::to_string(at_least->low));
  }
  return Status::Ok();
}

Status CheckReal(const std::string& key, const Rule& rule, double value) {
  const auto* r = std::get_if<RealRange>(&rule);
  if (r == nullptr || InRange(*r, value)) return Status::Ok();
  const std::string shown = key + " (" + FormatNumber(value) + ") must be ";
  if (std::isinf(r->high)) return InvalidArgument(shown + (r->low_open ? "> " : ">= ") + FormatNumber(r->low));
  return InvalidArgument(shown + "in " + RuleText(rule));
}

namespace detail {

Status ReadString(const std::string& key, const Json& v, std::string* out) {
  if (!v.is_string()) return InvalidArgument(key + ": expected a string, got " + v.dump());
  *out = v.get<std::string>();
  return Status::Ok();
}

Status ReadBool(const std::string& key, const Json& v, bool* out) {
  if (!v.is_boolean()) return InvalidArgument(key + ": expected true or false, got " + v.dump());
  *out = v.get<bool>();
  return Status::Ok();
}

Status ReadDouble(const std::string& key, const Json& v, double* out) {
  if (!v.is_number()) return InvalidArgument(key + ": expected a number, got " + v.dump());
  *out = v.get<double>();
  return Status::Ok();
}

Status ReadInteger(const std::string& key, const Json& v, int64_t low, uint64_t high, int64_t* as_signed,
                   uint64_t* as_unsigned) {
  const auto out_of_range = [&] { return InvalidArgument(key + ": " + v.dump() + " is out of range"); };
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > high) return out_of_range();
    *as_unsigned = u;
    *as_signed = static_cast<int64_t>(u);
    return Status::Ok();
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i < low || (i > 0 && static_cast<uint64_t>(i) > high)) return out_of_range();
    *as_signed = i;
    *as_unsigned = static_cast<uint64_t>(i);
    return Status::Ok();
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(low) ||
        d >= static_cast<double>(high) + 1.0) {  // high is 2^k − 1: as a double, 2^k for k > 53
      return InvalidArgument(key + ": expected an integer, got " + v.dump());
    }
    *as_signed = static_cast<int64_t>(d);
    *as_unsigned = static_cast<uint64_t>(d);
    return Status::Ok();
  }
  return InvalidArgument(key + ": expected an integer, got " + v.dump());
}

}  // namespace detail
}  // namespace dial::speech::keys
