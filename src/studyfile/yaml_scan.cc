// How a study file's YAML is read: scalars typed as YAML 1.2's core schema types them, and the scan of the
// parse events (one document, aliases that stay small) done before any of the file is interpreted.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>

#include "studyfile/study_config_parser.h"

namespace dial {
namespace {

// Aliases may add at most this many nodes to a study file's tree, counted as a walk that copies them would visit
// them. yaml-cpp shares an aliased node, so parsing is linear in the text; but reading sampler options into JSON
// visits an alias's node once per reference, and nine aliases of nine aliases of ... (a "billion laughs") is a
// few hundred bytes of text and 10^9 nodes. Reusing a distribution block or an option list adds a few dozen.
constexpr uint64_t kMaxAliasNodes = 100000;

// The parse events of the first document of a study file, read before any of it is interpreted: the first alias
// past kMaxAliasNodes, or one that refers to a node containing it (a cycle no walk could finish), with the line and
// the key where it stands.
class AliasScan final : public YAML::EventHandler {
 public:
  struct Problem {
    YAML::Mark mark;
    std::string key;
    std::string what;
  };
  const std::optional<Problem>& problem() const { return problem_; }
  const std::optional<YAML::Mark>& document_start() const { return document_start_; }

  void OnDocumentStart(const YAML::Mark& mark) override { document_start_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override { Add(1, anchor, nullptr); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
    Add(1, anchor, &value);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchor_nodes_.find(anchor);
    if (it == anchor_nodes_.end() || it->second == kOpen) {
      Report(mark, "a YAML alias that refers to a node containing it (a cycle): write the value out");
      Add(1, 0, nullptr);
      return;
    }
    alias_nodes_ = std::min(alias_nodes_ + it->second, kSaturated);
    if (alias_nodes_ > kMaxAliasNodes) {
      Report(mark, "YAML aliases expand the file by more than " + std::to_string(kMaxAliasNodes) +
                       " nodes (aliases of aliases, as in a \"billion laughs\"): write the values out");
    }
    Add(it->second, 0, nullptr);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(anchor, false);
  }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    Open(anchor, true);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapEnd() override { Close(); }

 private:
  // Sizes saturate here, far above any limit and far below overflow.
  static constexpr uint64_t kSaturated = uint64_t{1} << 62;
  // The size of an anchored collection that is still open.
  static constexpr uint64_t kOpen = ~uint64_t{0};

  struct Frame {
    bool map = false;
    YAML::anchor_t anchor = 0;
    uint64_t nodes = 1;
    size_t children = 0;
    std::string key;  // a map's latest key
  };

  void Open(YAML::anchor_t anchor, bool map) {
    if (anchor != 0) anchor_nodes_[anchor] = kOpen;
    stack_.push_back(Frame{map, anchor, 1, 0, ""});
  }
  void Close() {
    Frame done = std::move(stack_.back());
    stack_.pop_back();
    Add(done.nodes, done.anchor, nullptr);
  }
  // A finished node of `nodes` nodes (an alias: its anchor's) joins the collection it is in.
  void Add(uint64_t nodes, YAML::anchor_t anchor, const std::string* scalar) {
    if (anchor != 0) anchor_nodes_[anchor] = nodes;
    if (stack_.empty()) return;
    Frame& parent = stack_.back();
    if (parent.map && parent.children % 2 == 0) parent.key = scalar != nullptr ? *scalar : "?";
    parent.nodes = std::min(parent.nodes + nodes, kSaturated);
    ++parent.children;
  }
  void Report(const YAML::Mark& mark, const std::string& what) {
    if (problem_) return;
    std::string key;
    for (const Frame& frame : stack_) {
      if (frame.map) {
        key += (key.empty() ? "" : ".") + frame.key;
      } else {
        key += "[" + std::to_string(frame.children) + "]";
      }
    }
    problem_ = Problem{mark, key, what};
  }

  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, uint64_t> anchor_nodes_;
  uint64_t alias_nodes_ = 0;
  std::optional<Problem> problem_;
  std::optional<YAML::Mark> document_start_;
};

}  // namespace

namespace studyfile {

bool IsPlain(const YAML::Node& node) { return node.Tag() != "!"; }

bool IsNullScalar(const YAML::Node& node) {
  if (node.IsNull()) return true;
  if (!node.IsScalar() || !IsPlain(node)) return false;
  const std::string& s = node.Scalar();
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> PlainBool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<int64_t> PlainInt(const std::string& s) {
  std::string_view text = s;
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> PlainFloat(const std::string& s) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") return HUGE_VAL;
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -HUGE_VAL;
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::nan("");
  if (s.empty()) return std::nullopt;
  // Only decimal notation: strtod would also take "inf", "nan" and hex, which YAML reads as strings.
  for (char c : s) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
      return std::nullopt;
    }
  }
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE) return std::nullopt;
  return v;
}

// The scalar as YAML 1.2's core schema reads it: null, bool, int, float, else a string. Quoted is always a string.
ParamValue ScalarValue(const YAML::Node& node) {
  if (IsNullScalar(node)) return std::monostate{};
  const std::string& s = node.Scalar();
  if (!IsPlain(node)) return s;
  if (auto b = PlainBool(s)) return *b;
  if (auto i = PlainInt(s)) return *i;
  if (auto d = PlainFloat(s)) return *d;
  return s;
}

Json NodeToJson(const YAML::Node& node) {
  if (node.IsMap()) {
    Json out = Json::object();
    for (const auto& kv : node) out[kv.first.Scalar()] = NodeToJson(kv.second);
    return out;
  }
  if (node.IsSequence()) {
    Json out = Json::array();
    for (const auto& item : node) out.push_back(NodeToJson(item));
    return out;
  }
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  return ParamValueToJson(ScalarValue(node));
}

std::string Describe(const YAML::Node& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (IsNullScalar(node)) return "nothing";
  return "\"" + node.Scalar() + "\"";
}

Status ScanDocuments(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  AliasScan first;
  parser.HandleNextDocument(first);
  if (const auto& problem = first.problem()) {
    std::string message = source + ":" + std::to_string(problem->mark.line + 1) + ": ";
    if (!problem->key.empty()) message += problem->key + ": ";
    return InvalidArgument(message + problem->what);
  }
  AliasScan second;
  if (parser.HandleNextDocument(second)) {
    const int line = second.document_start() ? second.document_start()->line + 1 : 1;
    return InvalidArgument(source + ":" + std::to_string(line) +
                           ": a second YAML document (after ---): a study file is one document; put each study "
                           "in a file of its own, or remove the ---");
  }
  return Status::Ok();
}

}  // namespace studyfile
}  // namespace dial
