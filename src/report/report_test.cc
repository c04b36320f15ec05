// The report's data blob and page assembly: what the page draws from, and that the page is one file that cannot be
// broken by its own content.
#include "report/report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace dial {
namespace {

FrozenTrial Trial(int64_t number, TrialState state, std::vector<double> values, double x, int64_t choice) {
  FrozenTrial t;
  t.number = number;
  t.state = state;
  t.values = std::move(values);
  FloatDistribution fx;
  fx.low = 0.001;
  fx.high = 1.0;
  fx.log = true;
  t.params["lr"] = x;
  t.distributions["lr"] = fx;
  CategoricalDistribution c;
  c.choices = {std::string("adam"), std::string("sgd </script>")};
  t.params["opt"] = static_cast<double>(choice);
  t.distributions["opt"] = c;
  return t;
}

ReportInput TwoObjectiveStudy() {
  ReportInput in;
  in.study_name = "wer-latency";
  in.directions = {StudyDirection::kMinimize, StudyDirection::kMinimize};
  in.metrics = {"wer", "latency_ms"};
  in.trials = {Trial(0, TrialState::kComplete, {0.10, 50}, 0.01, 0),
               Trial(1, TrialState::kComplete, {0.20, 20}, 0.1, 1),
               Trial(2, TrialState::kComplete, {0.30, 30}, 0.5, 0),
               Trial(3, TrialState::kComplete, {0.05, 10}, 0.2, 1),
               Trial(4, TrialState::kPruned, {}, 0.3, 0),
               Trial(5, TrialState::kComplete, {0.14, 25}, 0.05, 1)};
  in.trials[3].system_attrs["constraints"] = Json::array({1.0});  // infeasible: would dominate all
  in.trials[4].intermediate_values = {{1, 0.9}, {2, 0.8}};
  return in;
}

TEST(ReportTest, DataHasTheFrontTradeOffAndHypervolume) {
  auto data = BuildReportData(TwoObjectiveStudy(), ReportOptions{});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  const Json& d = *data;
  EXPECT_EQ(d["study"], "wer-latency");
  EXPECT_EQ(d["trials"].size(), 6u);
  EXPECT_EQ(d["pareto"]["front"], Json::array({0, 1, 5}));
  EXPECT_FALSE(d["trials"][3]["feasible"].get<bool>());
  EXPECT_EQ(d["trials"][4]["note"], "pruned at step 2");
  EXPECT_EQ(d["trials"][4]["intermediate"], Json::parse("[[1, 0.9], [2, 0.8]]"));
  // Reference from the feasible trials: wer max 0.30 + 10% of 0.20 = 0.32; latency 50 + 3 = 53.
  ASSERT_EQ(d["pareto"]["reference"].size(), 2u);
  EXPECT_NEAR(d["pareto"]["reference"][0].get<double>(), 0.32, 1e-12);
  EXPECT_NEAR(d["pareto"]["reference"][1].get<double>(), 53.0, 1e-12);
  // Front (0.10, 50), (0.14, 25), (0.20, 20) under (0.32, 53):
  // 0.22·3 + 0.18·25 + 0.12·5 = 0.66 + 4.5 + 0.6 = 5.76.
  EXPECT_NEAR(d["pareto"]["hypervolume"].get<double>(), 5.76, 1e-9);
  // Scaled to the front's ranges: (0, 1), (0.4, 0.1667), (1, 0): trial 5 is nearest the ideal.
  EXPECT_EQ(d["pareto"]["trade_off"], 5);
  ASSERT_EQ(d["importance"].size(), 2u);
  EXPECT_EQ(d["params"][1]["kind"], "categorical");
  EXPECT_EQ(d["params"][0]["log"], true);
}

TEST(ReportTest, AUserReferencePointIsInTheStudysDirections) {
  ReportInput in = TwoObjectiveStudy();
  in.directions = {StudyDirection::kMinimize, StudyDirection::kMaximize};
  ReportOptions options;
  options.reference_point = std::vector<double>{1.0, 0.0};
  auto data = BuildReportData(in, options);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ((*data)["pareto"]["reference"], Json::array({1.0, 0.0}));
  options.reference_point = std::vector<double>{1.0};
  EXPECT_EQ(BuildReportData(in, options).status().code(), StatusCode::kInvalidArgument);
}

TEST(ReportTest, SingleObjectiveHasTheBestTrialAndImportanceErrorsAreKept) {
  ReportInput in;
  in.study_name = "one";
  in.directions = {StudyDirection::kMaximize};
  in.metrics = {"accuracy"};
  in.trials = {Trial(0, TrialState::kComplete, {0.5}, 0.01, 0), Trial(1, TrialState::kComplete, {0.7}, 0.1, 1),
               Trial(2, TrialState::kFail, {}, 0.1, 1)};
  auto data = BuildReportData(in, ReportOptions{});
  ASSERT_TRUE(data.ok());
  EXPECT_EQ((*data)["best"]["number"], 1);
  EXPECT_TRUE((*data)["pareto"].is_null());
  EXPECT_TRUE((*data)["importance"][0].contains("values") || (*data)["importance"][0].contains("error"));
  in.metrics = {};
  EXPECT_EQ(BuildReportData(in, ReportOptions{}).status().code(), StatusCode::kInvalidArgument);
}

TEST(ReportTest, PageEmbedsLibraryDataAndScriptSafely) {
  const auto dir = std::filesystem::temp_directory_path() / ("dial_report_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto library = dir / "fake-echarts.js";
  std::ofstream(library) << "var echarts = {marker: 'FAKE_LIBRARY', s: '</script>'};";
  ReportOptions options;
  options.plot_library_path = library.string();
  auto page = RenderReport(TwoObjectiveStudy(), options);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_NE(page->find("FAKE_LIBRARY"), std::string::npos);
  EXPECT_EQ(page->find("@DIAL_"), std::string::npos) << "a placeholder was left";
  // The only "</script" are the page's own closing tags: one per <script> element.
  size_t opens = 0, closes = 0;
  for (size_t at = page->find("<script"); at != std::string::npos; at = page->find("<script", at + 1)) ++opens;
  for (size_t at = page->find("</script"); at != std::string::npos; at = page->find("</script", at + 1)) ++closes;
  EXPECT_EQ(opens, 3u);
  EXPECT_EQ(closes, 3u);
  // The data blob parses back (with "<\/" read as "</").
  const size_t start = page->find("id=\"dial-data\">") + std::string("id=\"dial-data\">").size();
  const size_t end = page->find("</script>", start);
  Json blob = Json::parse(page->substr(start, end - start));
  EXPECT_EQ(blob["params"][1]["choices"][1], "sgd </script>");
  EXPECT_EQ(page->find("src=\"http"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(ReportTest, AMissingPlotLibraryIsAnErrorNotAnEmptyReport) {
  ReportOptions options;
  options.plot_library_path = "/nonexistent/echarts.min.js";
  auto page = RenderReport(TwoObjectiveStudy(), options);
  EXPECT_FALSE(page.ok());
  ::setenv("DIAL_REPORT_PLOT_LIBRARY", "/nonexistent/echarts.min.js", 1);
  auto found = FindPlotLibrary();
  ::unsetenv("DIAL_REPORT_PLOT_LIBRARY");
  EXPECT_EQ(found.status().code(), StatusCode::kNotFound);
  EXPECT_NE(found.status().message().find("DIAL_REPORT_PLOT_LIBRARY"), std::string::npos);
}

}  // namespace
}  // namespace dial
