// Shared pieces of the dial CLI: exit codes, storage opening, config defaults and value formatting.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli.h"

namespace dial::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSqlitePrefix = "sqlite:///";

// Keeps the error on one line whatever the message holds (a YAML excerpt, a child's output).
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

// Turns an error from opening a storage into bad input: the URL or the path the user gave is wrong.
Status AsBadStorage(const std::string& url, const Status& s) {
  if (s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ||
      s.code() == StatusCode::kFailedPrecondition) {
    return s.message().find(url) != std::string::npos ? s : s.WithContext("storage " + url);
  }
  if (s.code() == StatusCode::kIoError) {
    return Status(StatusCode::kInvalidArgument,
                  s.message().find(url) != std::string::npos ? s.message() : "storage " + url + ": " + s.message());
  }
  return s.WithContext("storage " + url);
}

}  // namespace

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return kExitBadInput;
    case StatusCode::kCancelled:
      return kExitInterrupted;
    default:
      return kExitFailure;
  }
}

int ReportError(const Status& status) {
  std::cout.flush();
  std::cerr << "dial: error: " << OneLine(status.message()) << std::endl;
  return ExitCodeFor(status);
}

std::string ChooseStorageUrl(const std::string& flag, const std::string& from_file) {
  if (!flag.empty()) return flag;
  if (!from_file.empty()) return from_file;
  return kDefaultStorage;
}

namespace {

// Opens a storage that must exist already: NotFound when a SQLite file does not (rather than creating one).
Result<std::shared_ptr<Storage>> OpenStorageThatExists(const std::string& url, const StorageOpenOptions& options) {
  if (url.rfind(kSqlitePrefix, 0) == 0) {
    const std::string path = url.substr(kSqlitePrefix.size());
    std::error_code ec;
    if (!path.empty() && !fs::exists(path, ec)) {
      return NotFound("storage " + url + ": no database at " + path);
    }
  }
  Result<std::shared_ptr<Storage>> storage = OpenStorage(url, options);
  if (!storage.ok()) return AsBadStorage(url, storage.status());
  return storage;
}

}  // namespace

Result<std::shared_ptr<Storage>> OpenExistingStorage(const std::string& url) { return OpenStorageThatExists(url, {}); }

Result<std::shared_ptr<Storage>> OpenStorageForReading(const std::string& url) {
  return OpenStorageThatExists(url, StorageOpenOptions{.read_only = true});
}

Result<std::shared_ptr<Storage>> OpenStorageForWriting(const std::string& url) {
  Result<std::shared_ptr<Storage>> storage = OpenStorage(url);
  if (!storage.ok()) return AsBadStorage(url, storage.status());
  return storage;
}

Result<StudyId> FindStudy(Storage& storage, const std::string& study_name) {
  if (study_name.empty()) return InvalidArgument("--study: a study name is needed (see `dial studies`)");
  Result<StudyId> id = storage.GetStudyIdFromName(study_name);
  if (!id.ok() && id.status().code() == StatusCode::kNotFound) {
    return NotFound("no study named '" + study_name + "' in " + storage.url() + " (see `dial studies`)");
  }
  return id;
}

Result<ConfigDefaults> ReadConfigDefaults(const std::string& config_path) {
  ConfigDefaults out;
  if (config_path.empty()) return out;
  std::error_code ec;
  if (!fs::exists(config_path, ec)) return NotFound(config_path + ": no such study file");
  out.study = fs::path(config_path).stem().string();
  try {
    YAML::Node root = YAML::LoadFile(config_path);
    const YAML::Node& r = root;
    if (r.IsMap()) {
      if (r["storage"] && r["storage"].IsScalar()) out.storage = r["storage"].Scalar();
      if (r["study"] && r["study"].IsScalar()) out.study = r["study"].Scalar();
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(config_path + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg);
  }
  return out;
}

namespace {

Result<OpenedStudy> OpenStudy(const std::string& storage_flag, const std::string& config_path,
                              const std::string& study_flag, const StorageOpenOptions& options) {
  DIAL_ASSIGN_OR_RETURN(ConfigDefaults defaults, ReadConfigDefaults(config_path));
  OpenedStudy opened;
  DIAL_ASSIGN_OR_RETURN(opened.storage,
                        OpenStorageThatExists(ChooseStorageUrl(storage_flag, defaults.storage), options));
  opened.name = study_flag.empty() ? defaults.study : study_flag;
  DIAL_ASSIGN_OR_RETURN(opened.id, FindStudy(*opened.storage, opened.name));
  return opened;
}

}  // namespace

Result<OpenedStudy> OpenExistingStudy(const std::string& storage_flag, const std::string& config_path,
                                      const std::string& study_flag) {
  return OpenStudy(storage_flag, config_path, study_flag, {});
}

Result<OpenedStudy> OpenStudyForReading(const std::string& storage_flag, const std::string& config_path,
                                        const std::string& study_flag) {
  return OpenStudy(storage_flag, config_path, study_flag, StorageOpenOptions{.read_only = true});
}

std::vector<std::string> MetricNames(Storage& storage, StudyId study_id, size_t n_objectives) {
  std::vector<std::string> names;
  Result<AttrMap> attrs = storage.GetStudySystemAttrs(study_id);
  if (attrs.ok()) {
    auto it = attrs->find(kStudyFileAttr);
    if (it != attrs->end() && it->second.is_string()) {
      try {
        YAML::Node root = YAML::Load(it->second.get<std::string>());
        const YAML::Node& r = root;
        if (r.IsMap() && r["metrics"]) {
          if (r["metrics"].IsScalar()) names.push_back(r["metrics"].Scalar());
          if (r["metrics"].IsSequence()) {
            for (const auto& m : r["metrics"]) names.push_back(m.IsScalar() ? m.Scalar() : "?");
          }
        }
      } catch (const YAML::Exception&) {
        names.clear();
      }
    }
  }
  if (names.size() == n_objectives) return names;
  names.clear();
  if (n_objectives == 1) return {"value"};
  for (size_t i = 0; i < n_objectives; ++i) names.push_back("values_" + std::to_string(i));
  return names;
}

void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) widths[c] = headers[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < widths.size(); ++c) {
      std::string cell = c < row.size() ? row[c] : "";
      if (c + 1 < widths.size()) cell.resize(widths[c], ' ');
      line += (c == 0 ? "" : "  ") + cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  print_row(headers);
  for (const auto& row : rows) print_row(row);
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string FormatFloatForYaml(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), v);
  std::string text(buffer, end);
  const size_t e = text.find('e');
  std::string mantissa = e == std::string::npos ? text : text.substr(0, e);
  std::string exponent = e == std::string::npos ? "" : text.substr(e + 1);
  if (mantissa.find('.') == std::string::npos) mantissa += ".0";
  if (exponent.empty()) return mantissa;
  if (exponent[0] != '-' && exponent[0] != '+') exponent = "+" + exponent;
  return mantissa + "e" + exponent;
}

std::string ParamValueToYaml(const ParamValue& v) {
  if (std::holds_alternative<std::monostate>(v)) return "null";
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const int64_t* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const double* d = std::get_if<double>(&v)) return FormatFloatForYaml(*d);
  const std::string& s = std::get<std::string>(v);
  // Quoted when a YAML 1.1 or 1.2 reader would take the plain form for something else.
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* kReserved[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ""};
  bool quote = std::any_of(std::begin(kReserved), std::end(kReserved), [&](const char* r) { return lower == r; });
  double number = 0;
  quote = quote || std::from_chars(s.data(), s.data() + s.size(), number).ptr == s.data() + s.size();
  quote = quote || s.front() == ' ' || s.back() == ' ' ||
          std::string("-?:,[]{}#&*!|>'\"%@`.+").find(s.front()) != std::string::npos;
  quote = quote || s.find(": ") != std::string::npos || s.find(" #") != std::string::npos;
  quote = quote || std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20; });
  if (!quote) return s;
  return Json(s).dump();  // a JSON string is a valid YAML double-quoted scalar
}

std::string FormatShort(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", v);
  return buffer;
}

std::string FormatFixed(double v, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, v);
  return buffer;
}

std::string JoinValues(const std::vector<double>& values) {
  std::string out;
  for (double v : values) out += (out.empty() ? "" : ", ") + FormatShort(v);
  return out;
}

void AddStudyOptions(CLI::App* sub, std::string* storage, std::string* config, std::string* study,
                     const std::string& study_help) {
  sub->add_option("--storage", *storage, "Storage URL (default: the study file's, else sqlite:///dial.db)");
  sub->add_option("--config,-c", *config,
                  study ? "A study file whose storage and study name to use" : "A study file whose storage to use");
  if (study) sub->add_option("--study", *study, study_help);
}

Result<StudyConfig> StoredStudyFile(Storage& storage, StudyId study_id, const std::string& study_name) {
  DIAL_ASSIGN_OR_RETURN(AttrMap attrs, storage.GetStudySystemAttrs(study_id));
  auto it = attrs.find(kStudyFileAttr);
  if (it == attrs.end() || !it->second.is_string()) {
    return FailedPrecondition("study '" + study_name + "' in " + storage.url() +
                              " holds no study file (it was not created by dial tune)");
  }
  return ParseStudyConfig(it->second.get<std::string>(), "study '" + study_name + "' (stored study file)");
}

}  // namespace dial::cli
