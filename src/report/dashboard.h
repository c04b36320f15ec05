// The live dashboard (`dial dashboard --storage URL`): the studies of a storage and, for each, the report's views
// redrawn as trials finish, with the running trials and their latest intermediate values. Read-only: it answers GET
// and nothing else, and never writes to the storage. Its pages (web/dashboard.*, web/report.*) are compiled into dial;
// the plotting library is read once at start from the build tree (report.h: FindPlotLibrary).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dial/frozen_trial.h"
#include "dial/status.h"
#include "dial/storage.h"
#include "report/http_server.h"

namespace dial {

struct DashboardOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  // Required to bind anything but loopback; then every request must carry it (?token=, a cookie the first page sets,
  // or Authorization: Bearer). At least kMinDashboardTokenLength characters.
  std::string token;
  // How often an open page asks for new data.
  double refresh_seconds = 5.0;
  // echarts.min.js; empty: FindPlotLibrary().
  std::string plot_library_path;
  uint64_t importance_seed = 0;
  // The metric names of a study's objectives (the CLI reads them from the study file stored in the study); unset:
  // "objective 0", "objective 1", ...
  std::function<std::vector<std::string>(Storage&, StudyId, size_t n_objectives)> metric_names;

  Status Validate() const;
};

inline constexpr size_t kMinDashboardTokenLength = 16;

// Answers the dashboard's requests. Thread-safe: requests are served one at a time (storage reads are serialised).
class Dashboard {
 public:
  // FailedPrecondition when the plotting library is missing (FindPlotLibrary's message), InvalidArgument from
  // DashboardOptions::Validate.
  static Result<std::unique_ptr<Dashboard>> New(std::shared_ptr<Storage> storage, DashboardOptions options);

  // GET / (the studies), /study?name=S (one study, live), /assets/*, /api/studies, /api/study?name=S,
  // /api/trial?study=S&number=N. 405 for any other method, 404 for other paths, 401 without the token when one is
  // set, 403 for a Host header that is not this machine's loopback name when bound to loopback without a token
  // (a web page elsewhere cannot reach the dashboard through DNS rebinding).
  HttpResponse Handle(const HttpRequest& request);

 private:
  Dashboard(std::shared_ptr<Storage> storage, DashboardOptions options, std::string plot_library);
  HttpResponse Route(const HttpRequest& request);
  HttpResponse StudiesJson();
  HttpResponse StudyJson(const std::string& name);
  HttpResponse TrialJson(const std::string& study, const std::string& number);

  struct ImportanceCache {
    uint64_t key = 0;  // of the COMPLETE trials it was computed from
    Json importances;
  };

  const std::shared_ptr<Storage> storage_;
  const DashboardOptions options_;
  const std::string plot_library_;
  std::mutex mu_;
  std::map<StudyId, ImportanceCache> importance_;  // GUARDED_BY(mu_)
};

}  // namespace dial
