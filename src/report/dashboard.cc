// The live dashboard (dashboard.h): routing, access control, and the JSON documents its pages draw from. The study
// document is the report's data (report.h: BuildReportData) plus a version that changes when any trial does, so a page
// redraws only when something happened.
#include "report/dashboard.h"

#include <cmath>
#include <cstring>

#include "dial/analysis.h"
#include "dial/study.h"
#include "report/report.h"

namespace dial {
namespace report_assets {
// Defined in the generated report_assets.cc (src/report/embed_assets.cmake).
extern const char kStyle[];
extern const char kScript[];
extern const char kDashboardPage[];
extern const char kDashboardStyle[];
extern const char kDashboardScript[];
}  // namespace report_assets

namespace {

constexpr const char* kTokenCookie = "dial_token";
constexpr const char* kHtml = "text/html; charset=utf-8";
constexpr const char* kJson = "application/json; charset=utf-8";
constexpr const char* kJavaScript = "text/javascript; charset=utf-8";
constexpr const char* kCss = "text/css; charset=utf-8";
// Scripts and styles only from the dashboard itself; inline style attributes are how ECharts' SVG renderer and the
// page position things. No frames, no form targets, no other origin.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

// FNV-1a, 64 bits: a fingerprint of what a page has drawn, not a security measure.
class Fingerprint {
 public:
  void Add(const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      hash_ ^= bytes[i];
      hash_ *= 0x100000001b3ULL;
    }
  }
  void Add(int64_t v) { Add(&v, sizeof(v)); }
  void Add(double v) { Add(&v, sizeof(v)); }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// What the importance views depend on: the COMPLETE trials' numbers, values and parameters.
uint64_t CompleteTrialsKey(const std::vector<FrozenTrial>& trials) {
  Fingerprint f;
  for (const FrozenTrial& t : trials) {
    if (t.state != TrialState::kComplete) continue;
    f.Add(t.number);
    for (double v : t.values) f.Add(v);
    for (const auto& [name, internal] : t.params) {
      f.Add(name.data(), name.size());
      f.Add(internal);
    }
  }
  return f.value();
}

// Changes whenever a trial is added, changes state, reports a value or finishes.
std::string TrialsVersion(const std::vector<FrozenTrial>& trials) {
  Fingerprint f;
  for (const FrozenTrial& t : trials) {
    f.Add(t.number);
    f.Add(static_cast<int64_t>(t.state));
    for (double v : t.values) f.Add(v);
    f.Add(static_cast<int64_t>(t.intermediate_values.size()));
    if (!t.intermediate_values.empty()) {
      f.Add(t.intermediate_values.rbegin()->first);
      f.Add(t.intermediate_values.rbegin()->second);
    }
    f.Add(static_cast<int64_t>(t.params.size()));
  }
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(f.value()));
  return text;
}

HttpResponse JsonResponse(const Json& value, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.content_type = kJson;
  r.body = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

HttpResponse JsonError(int status, const std::string& message) { return JsonResponse({{"error", message}}, status); }

HttpResponse Asset(const std::string& body, const char* type) {
  HttpResponse r;
  r.content_type = type;
  r.body = body;
  return r;
}

// The value of one cookie in a Cookie header ("a=1; dial_token=xyz").
std::string CookieValue(const std::string& header, std::string_view name) {
  size_t at = 0;
  while (at < header.size()) {
    size_t end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    std::string_view pair(header.data() + at, end - at);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    at = end + 1;
  }
  return "";
}

// Compares in time that depends on the lengths only, so the token cannot be guessed a character at a time.
bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// "localhost:8080" → "localhost"; "[::1]:8080" → "[::1]".
std::string HostName(const std::string& host_header) {
  if (!host_header.empty() && host_header.front() == '[') {
    const size_t close = host_header.find(']');
    return close == std::string::npos ? host_header : host_header.substr(0, close + 1);
  }
  const size_t colon = host_header.find(':');
  if (colon != std::string::npos && host_header.find(':', colon + 1) == std::string::npos) {
    return host_header.substr(0, colon);
  }
  return host_header;
}

std::vector<std::string> DefaultMetricNames(size_t n) {
  std::vector<std::string> names;
  for (size_t k = 0; k < n; ++k) names.push_back(n == 1 ? "value" : "objective " + std::to_string(k));
  return names;
}

Json TimeJson(const std::optional<Timestamp>& t) { return t ? Json(FormatTimestamp(*t)) : Json(nullptr); }

Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

}  // namespace

Status DashboardOptions::Validate() const {
  if (!IsLoopbackHost(host) && token.empty()) {
    return InvalidArgument("--host " + host +
                           ": binding an address other than loopback (127.0.0.1, ::1, localhost) lets other machines "
                           "read the studies; give an access token with --token (or DIAL_DASHBOARD_TOKEN)");
  }
  if (!token.empty() && token.size() < kMinDashboardTokenLength) {
    return InvalidArgument("--token: an access token needs at least " + std::to_string(kMinDashboardTokenLength) +
                           " characters, got " + std::to_string(token.size()));
  }
  for (char c : token) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && std::strchr("-._~", c) == nullptr) {
      return InvalidArgument("--token: use letters, digits and - . _ ~ only (it travels in a URL and a cookie)");
    }
  }
  if (!(refresh_seconds >= 0.5) || !std::isfinite(refresh_seconds)) {
    return InvalidArgument("--refresh: must be at least 0.5 seconds, got " + std::to_string(refresh_seconds));
  }
  HttpServerOptions server;
  server.host = host;
  server.port = port;
  return server.Validate();
}

Result<std::unique_ptr<Dashboard>> Dashboard::New(std::shared_ptr<Storage> storage, DashboardOptions options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  DIAL_ASSIGN_OR_RETURN(std::string library, ReadPlotLibrary(options.plot_library_path));
  return std::unique_ptr<Dashboard>(new Dashboard(std::move(storage), std::move(options), std::move(library)));
}

Dashboard::Dashboard(std::shared_ptr<Storage> storage, DashboardOptions options, std::string plot_library)
    : storage_(std::move(storage)), options_(std::move(options)), plot_library_(std::move(plot_library)) {}

HttpResponse Dashboard::Handle(const HttpRequest& request) {
  HttpResponse response;
  std::string set_cookie;
  if (request.method != "GET") {
    response.status = 405;
    response.body = "the dashboard is read-only: it answers GET only, not " + request.method + "\n";
    response.headers.push_back({"Allow", "GET"});
  } else if (!options_.token.empty()) {
    auto header = request.headers.find("authorization");
    auto query = request.query.find("token");
    auto cookie = request.headers.find("cookie");
    std::string given;
    if (query != request.query.end()) {
      given = query->second;
    } else if (header != request.headers.end() && header->second.rfind("Bearer ", 0) == 0) {
      given = header->second.substr(7);
    } else if (cookie != request.headers.end()) {
      given = CookieValue(cookie->second, kTokenCookie);
    }
    if (!SameSecret(given, options_.token)) {
      response.status = 401;
      response.body =
          given.empty() ? "this dashboard needs its access token: open it as /?token=TOKEN\n" : "wrong access token\n";
      response.headers.push_back({"WWW-Authenticate", "Bearer realm=\"dial dashboard\""});
    } else {
      if (query != request.query.end()) {
        set_cookie = std::string(kTokenCookie) + "=" + options_.token + "; Path=/; HttpOnly; SameSite=Strict";
      }
      response = Route(request);
    }
  } else {
    auto host = request.headers.find("host");
    if (host != request.headers.end() && !IsLoopbackHost(HostName(host->second))) {
      response.status = 403;
      response.body = "Host '" + host->second +
                      "' is not this machine's loopback name (open http://127.0.0.1:" + std::to_string(options_.port) +
                      "/ or bind another address with a token)\n";
    } else {
      response = Route(request);
    }
  }
  if (!set_cookie.empty()) response.headers.push_back({"Set-Cookie", set_cookie});
  response.headers.push_back({"Cache-Control", "no-store"});
  response.headers.push_back({"X-Content-Type-Options", "nosniff"});
  response.headers.push_back({"X-Frame-Options", "DENY"});
  response.headers.push_back({"Referrer-Policy", "no-referrer"});
  response.headers.push_back({"Content-Security-Policy", kContentSecurityPolicy});
  return response;
}

HttpResponse Dashboard::Route(const HttpRequest& request) {
  const std::string& path = request.path;
  auto query = [&request](const char* key) {
    auto it = request.query.find(key);
    return it == request.query.end() ? std::string() : it->second;
  };
  if (path == "/" || path == "/index.html" || path == "/study") return Asset(report_assets::kDashboardPage, kHtml);
  if (path == "/assets/echarts.min.js") return Asset(plot_library_, kJavaScript);
  if (path == "/assets/report.js") return Asset(report_assets::kScript, kJavaScript);
  if (path == "/assets/report.css") return Asset(report_assets::kStyle, kCss);
  if (path == "/assets/dashboard.js") return Asset(report_assets::kDashboardScript, kJavaScript);
  if (path == "/assets/dashboard.css") return Asset(report_assets::kDashboardStyle, kCss);
  std::lock_guard<std::mutex> lock(mu_);
  if (path == "/api/studies") return StudiesJson();
  if (path == "/api/study") return StudyJson(query("name"));
  if (path == "/api/trial") return TrialJson(query("study"), query("number"));
  HttpResponse missing;
  missing.status = 404;
  missing.body = "no page at " + path + "\n";
  return missing;
}

HttpResponse Dashboard::StudiesJson() {
  Result<std::vector<StudySummary>> studies = storage_->GetAllStudies();
  if (!studies.ok()) return JsonError(500, studies.status().message());
  Json list = Json::array();
  for (const StudySummary& s : *studies) {
    Result<std::vector<FrozenTrial>> trials = storage_->GetAllTrials(s.study_id);
    if (!trials.ok()) return JsonError(500, trials.status().message());
    Json counts = Json::object();
    std::optional<Timestamp> last = s.datetime_start;
    for (const FrozenTrial& t : *trials) {
      const std::string state(TrialStateName(t.state));
      counts[state] = counts.value(state, 0) + 1;
      for (const auto& when : {t.datetime_start, t.datetime_complete}) {
        if (when && (!last || *when > *last)) last = when;
      }
    }
    Json directions = Json::array();
    for (StudyDirection d : s.directions) directions.push_back(std::string(StudyDirectionName(d)));
    const std::vector<std::string> metrics = options_.metric_names
                                                 ? options_.metric_names(*storage_, s.study_id, s.directions.size())
                                                 : DefaultMetricNames(s.directions.size());
    Json best = nullptr;
    if (s.directions.size() == 1) {
      if (const FrozenTrial* b = FindBestTrial(*trials, s.directions[0])) {
        best = {{"number", b->number}, {"value", Number(b->values[0])}};
      }
    } else {
      best = {{"pareto_front", ParetoFront(*trials, s.directions).size()}};
    }
    list.push_back({{"name", s.study_name},
                    {"directions", directions},
                    {"metrics", metrics},
                    {"n_trials", trials->size()},
                    {"states", counts},
                    {"best", best},
                    {"datetime_start", TimeJson(s.datetime_start)},
                    {"last_activity", TimeJson(last)}});
  }
  return JsonResponse({{"storage", storage_->url()},
                       {"refresh_seconds", options_.refresh_seconds},
                       {"generated", FormatTimestamp(std::chrono::system_clock::now())},
                       {"studies", list}});
}

HttpResponse Dashboard::StudyJson(const std::string& name) {
  if (name.empty()) return JsonError(400, "name: which study? (/api/study?name=STUDY)");
  Result<StudyId> id = storage_->GetStudyIdFromName(name);
  if (!id.ok()) {
    const bool missing = id.status().code() == StatusCode::kNotFound;
    return JsonError(missing ? 404 : 500,
                     missing ? "no study named '" + name + "' in " + storage_->url() : id.status().message());
  }
  ReportInput input;
  input.study_name = name;
  Result<std::vector<StudyDirection>> directions = storage_->GetStudyDirections(*id);
  if (!directions.ok()) return JsonError(500, directions.status().message());
  input.directions = *directions;
  input.metrics = options_.metric_names ? options_.metric_names(*storage_, *id, directions->size())
                                        : DefaultMetricNames(directions->size());
  Result<std::vector<FrozenTrial>> trials = storage_->GetAllTrials(*id);
  if (!trials.ok()) return JsonError(500, trials.status().message());
  input.trials = std::move(*trials);

  ReportOptions options;
  options.importance_seed = options_.importance_seed;
  // The importance forest is the slow part; it is computed again only when the COMPLETE trials change.
  const uint64_t key = CompleteTrialsKey(input.trials);
  auto cached = importance_.find(*id);
  if (cached != importance_.end() && cached->second.key == key) {
    options.importances = cached->second.importances;
  } else {
    options.importances = ReportImportances(input, options);
    importance_[*id] = {key, *options.importances};
  }
  Result<Json> data = BuildReportData(input, options);
  if (!data.ok()) return JsonError(500, data.status().message());
  (*data)["version"] = TrialsVersion(input.trials);
  (*data)["storage"] = storage_->url();
  (*data)["refresh_seconds"] = options_.refresh_seconds;
  return JsonResponse(*data);
}

HttpResponse Dashboard::TrialJson(const std::string& study, const std::string& number_text) {
  if (study.empty() || number_text.empty()) {
    return JsonError(400, "which trial? (/api/trial?study=STUDY&number=N)");
  }
  int64_t number = -1;
  try {
    size_t used = 0;
    number = std::stoll(number_text, &used);
    if (used != number_text.size()) number = -1;
  } catch (const std::exception&) {
    number = -1;
  }
  if (number < 0) return JsonError(400, "number: '" + number_text + "' is not a trial number");
  Result<StudyId> id = storage_->GetStudyIdFromName(study);
  if (!id.ok()) return JsonError(404, "no study named '" + study + "' in " + storage_->url());
  Result<std::vector<FrozenTrial>> trials = storage_->GetAllTrials(*id);
  if (!trials.ok()) return JsonError(500, trials.status().message());
  for (const FrozenTrial& t : *trials) {
    if (t.number != number) continue;
    Json values = Json::array();
    for (double v : t.values) values.push_back(Number(v));
    Json params = Json::object();
    for (const auto& [name, value] : t.ExternalParams()) params[name] = ParamValueToJson(value);
    Json intermediate = Json::array();
    for (const auto& [step, v] : t.intermediate_values) intermediate.push_back(Json::array({step, Number(v)}));
    Json user_attrs = Json::object();
    for (const auto& [k, v] : t.user_attrs) user_attrs[k] = v;
    Json system_attrs = Json::object();
    for (const auto& [k, v] : t.system_attrs) system_attrs[k] = v;
    auto duration = t.DurationSeconds();
    return JsonResponse({{"study", study},
                         {"number", t.number},
                         {"state", std::string(TrialStateName(t.state))},
                         {"values", values},
                         {"params", params},
                         {"intermediate", intermediate},
                         {"user_attrs", user_attrs},
                         {"system_attrs", system_attrs},
                         {"datetime_start", TimeJson(t.datetime_start)},
                         {"datetime_complete", TimeJson(t.datetime_complete)},
                         {"duration", duration ? Json(*duration) : Json(nullptr)}});
  }
  return JsonError(404, "study '" + study + "' has no trial " + number_text);
}

}  // namespace dial
