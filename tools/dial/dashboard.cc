// `dial dashboard --storage URL`: a local web server showing the storage's studies live (src/report/dashboard.h).
#include "report/dashboard.h"

#include <cstdlib>
#include <iostream>

#include "cli.h"
#include "run.h"

namespace dial::cli {
namespace {

constexpr const char* kTokenEnv = "DIAL_DASHBOARD_TOKEN";

struct DashboardArgs {
  std::string storage;
  std::string config;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string token;
  double refresh_seconds = 5.0;
  std::string plot_library;
};

int RunDashboard(const DashboardArgs& args) {
  Result<ConfigDefaults> defaults = ReadConfigDefaults(args.config);
  if (!defaults.ok()) return ReportError(defaults.status());
  DashboardOptions options;
  options.host = args.host;
  options.port = args.port;
  options.token = args.token;
  if (options.token.empty()) {
    if (const char* env = std::getenv(kTokenEnv); env != nullptr) options.token = env;
  }
  options.refresh_seconds = args.refresh_seconds;
  options.plot_library_path = args.plot_library;
  options.metric_names = MetricNames;
  // Checked before the storage is opened or a port taken.
  Status valid = options.Validate();
  if (!valid.ok()) {
    // A token from the environment is named as such ("$DIAL_DASHBOARD_TOKEN: an access token needs ...").
    constexpr std::string_view kTokenFlag = "--token";
    const bool token_from_env = args.token.empty() && !options.token.empty();
    if (token_from_env && valid.message().rfind(kTokenFlag, 0) == 0) {
      return ReportError(InvalidArgument("$" + std::string(kTokenEnv) + valid.message().substr(kTokenFlag.size())));
    }
    return ReportError(valid);
  }
  Result<std::shared_ptr<Storage>> storage = OpenStorageForReading(ChooseStorageUrl(args.storage, defaults->storage));
  if (!storage.ok()) return ReportError(storage.status());
  Result<std::unique_ptr<Dashboard>> dashboard = Dashboard::New(*storage, options);
  if (!dashboard.ok()) return ReportError(dashboard.status());
  HttpServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Listen(server_options);
  if (!server.ok()) return ReportError(server.status());
  InstallStopHandlers();
  const std::string url = (*server)->url() + (options.token.empty() ? "" : "?token=" + options.token);
  std::cout << "dial dashboard: the studies of " << (*storage)->url() << " at " << url
            << " (read-only; Ctrl-C stops it)" << std::endl;
  Dashboard* const handler = dashboard->get();
  Status served =
      (*server)->Serve([handler](const HttpRequest& request) { return handler->Handle(request); }, StopFlag());
  if (!served.ok()) return ReportError(served);
  std::cout << "dial dashboard: stopped" << std::endl;
  return kExitOk;
}

}  // namespace

Command AddDashboardCommand(CLI::App& app) {
  auto args = std::make_shared<DashboardArgs>();
  CLI::App* sub = app.add_subcommand(
      "dashboard", "Serve a live, read-only dashboard of a storage's studies to a browser (127.0.0.1:8080 by default)");
  AddStudyOptions(sub, &args->storage, &args->config);
  sub->add_option("--host", args->host,
                  "Address to listen on (default 127.0.0.1); any other than loopback needs --token");
  sub->add_option("--port", args->port, "TCP port (default 8080; 0 picks a free one and prints it)");
  sub->add_option("--token", args->token,
                  "Access token every request must carry (?token=, a cookie, or Authorization: Bearer); default "
                  "$DIAL_DASHBOARD_TOKEN. Required with a non-loopback --host; at least 16 characters");
  sub->add_option("--refresh", args->refresh_seconds, "Seconds between a page's updates (default 5)");
  sub->add_option(
      "--plot-library", args->plot_library,
      "echarts.min.js to serve (default: $DIAL_REPORT_PLOT_LIBRARY, else the copy npm fetched at build time)");
  return {sub, [args] { return RunDashboard(*args); }};
}

}  // namespace dial::cli
