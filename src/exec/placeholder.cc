// `{name}` placeholder parsing and substitution for command arguments.
#include "dial/placeholder.h"

namespace dial {
namespace {

// Walks `arg` once; `on_text` gets literal text, `on_name` each placeholder name.
Status Scan(const std::string& arg, const std::function<void(const std::string&)>& on_text,
            const std::function<Status(const std::string&)>& on_name) {
  size_t i = 0;
  while (i < arg.size()) {
    char c = arg[i];
    if (c == '{') {
      if (i + 1 < arg.size() && arg[i + 1] == '{') {
        on_text("{");
        i += 2;
        continue;
      }
      size_t close = arg.find('}', i + 1);
      if (close == std::string::npos) return InvalidArgument("unclosed '{' in \"" + arg + "\" (write {{ for a brace)");
      std::string name = arg.substr(i + 1, close - i - 1);
      if (name.empty()) return InvalidArgument("empty placeholder {} in \"" + arg + "\"");
      if (name.find('{') != std::string::npos) return InvalidArgument("nested '{' in \"" + arg + "\"");
      DIAL_RETURN_IF_ERROR(on_name(name));
      i = close + 1;
    } else if (c == '}') {
      if (i + 1 < arg.size() && arg[i + 1] == '}') {
        on_text("}");
        i += 2;
        continue;
      }
      return InvalidArgument("stray '}' in \"" + arg + "\" (write }} for a brace)");
    } else {
      size_t next = arg.find_first_of("{}", i);
      if (next == std::string::npos) next = arg.size();
      on_text(arg.substr(i, next - i));
      i = next;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> PlaceholderNames(const std::string& arg) {
  std::vector<std::string> names;
  DIAL_RETURN_IF_ERROR(Scan(
      arg, [](const std::string&) {},
      [&](const std::string& name) {
        names.push_back(name);
        return Status::Ok();
      }));
  return names;
}

Result<std::string> SubstitutePlaceholders(
    const std::string& arg, const std::function<std::optional<std::string>(const std::string&)>& lookup) {
  std::string out;
  DIAL_RETURN_IF_ERROR(Scan(
      arg, [&](const std::string& text) { out += text; },
      [&](const std::string& name) {
        std::optional<std::string> value = lookup(name);
        if (!value.has_value()) return InvalidArgument("unknown placeholder {" + name + "} in \"" + arg + "\"");
        out += *value;
        return Status::Ok();
      }));
  return out;
}

}  // namespace dial
