// Helper for the Optuna interop tests (tests/python/optuna_interop.py): writes studies through dial's Storage
// API, and dumps any study as dial reads it, as JSON, so that Python can compare dial's view of a database
// with Optuna's field by field.
//
//   optuna_interop_tool write DB      writes the studies "dial_single" and "dial_multi"
//   optuna_interop_tool dump DB STUDY prints the study as dial reads it
//
// DB is a SQLite file path or any storage URL (sqlite:///..., postgresql://...).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "dial/storage.h"

namespace {

using namespace dial;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// Non-finite numbers as Python's float() spells them, since JSON has none.
Json Number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

Json ParamToJson(const ParamValue& v) {
  return std::visit(
      [](const auto& x) -> Json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else {
          return x;
        }
      },
      v);
}

Json TrialToJson(const FrozenTrial& t) {
  Json j;
  j["number"] = t.number;
  j["state"] = std::string(TrialStateName(t.state));
  j["values"] = Json::array();
  for (double v : t.values) j["values"].push_back(Number(v));
  j["params"] = Json::object();
  for (const auto& [name, value] : t.ExternalParams()) j["params"][name] = ParamToJson(value);
  j["distributions"] = Json::object();
  for (const auto& [name, dist] : t.distributions) j["distributions"][name] = Json::parse(DistributionToJson(dist));
  j["intermediate_values"] = Json::object();
  for (const auto& [step, v] : t.intermediate_values) j["intermediate_values"][std::to_string(step)] = Number(v);
  j["user_attrs"] = Json(t.user_attrs);
  j["system_attrs"] = Json(t.system_attrs);
  j["datetime_start"] = t.datetime_start ? Json(FormatTimestamp(*t.datetime_start)) : Json(nullptr);
  j["datetime_complete"] = t.datetime_complete ? Json(FormatTimestamp(*t.datetime_complete)) : Json(nullptr);
  return j;
}

Status Dump(Storage& storage, const std::string& study_name) {
  DIAL_ASSIGN_OR_RETURN(StudyId id, storage.GetStudyIdFromName(study_name));
  Json out;
  DIAL_ASSIGN_OR_RETURN(std::vector<StudyDirection> directions, storage.GetStudyDirections(id));
  out["directions"] = Json::array();
  for (StudyDirection d : directions) out["directions"].push_back(std::string(StudyDirectionName(d)));
  DIAL_ASSIGN_OR_RETURN(AttrMap user, storage.GetStudyUserAttrs(id));
  DIAL_ASSIGN_OR_RETURN(AttrMap system, storage.GetStudySystemAttrs(id));
  out["user_attrs"] = Json(user);
  out["system_attrs"] = Json(system);
  out["trials"] = Json::array();
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, storage.GetAllTrials(id));
  for (const FrozenTrial& t : trials) out["trials"].push_back(TrialToJson(t));
  std::cout << out.dump(2) << "\n";
  return Status::Ok();
}

// One finished trial through the primitives, as the Study layer would write it.
Status AddTrial(Storage& storage, StudyId study, TrialState state, const std::vector<double>& values,
                const std::vector<std::tuple<std::string, double, Distribution>>& params,
                const std::map<int64_t, double>& intermediate, const AttrMap& user_attrs, const AttrMap& system_attrs) {
  DIAL_ASSIGN_OR_RETURN(TrialId id, storage.CreateNewTrial(study));
  for (const auto& [step, v] : intermediate) DIAL_RETURN_IF_ERROR(storage.SetTrialIntermediateValue(id, step, v));
  Storage::TrialUpdate update;
  update.params = params;
  update.user_attrs.assign(user_attrs.begin(), user_attrs.end());
  update.system_attrs.assign(system_attrs.begin(), system_attrs.end());
  if (state != TrialState::kRunning) {
    update.state = state;
    update.values = values;
  }
  return storage.UpdateTrial(id, update);
}

Status Write(Storage& storage) {
  const FloatDistribution lr{1e-5, 1e-1, std::nullopt, true};
  const IntDistribution layers{1, 8, 1, false};
  const IntDistribution width{64, 512, 64, false};
  const FloatDistribution dropout{0.0, 0.5, 0.125, false};
  const CategoricalDistribution optimizer{
      {std::string("adam"), std::string("sgd"), int64_t{3}, 2.5, true, std::monostate{}}};

  DIAL_ASSIGN_OR_RETURN(StudyId single, storage.CreateNewStudy({StudyDirection::kMinimize}, "dial_single"));
  DIAL_RETURN_IF_ERROR(storage.SetStudyUserAttr(single, "corpus", "librispeech-100"));
  DIAL_RETURN_IF_ERROR(storage.SetStudyUserAttr(single, "metrics", Json::array({"wer"})));
  DIAL_RETURN_IF_ERROR(storage.SetStudySystemAttr(single, "dial:version", "0.1.0"));
  DIAL_RETURN_IF_ERROR(
      AddTrial(storage, single, TrialState::kComplete, {12.5},
               {{"lr", 3.2e-4, lr},
                {"layers", 6, layers},
                {"optimizer", 0, optimizer},
                {"width", 256, width},
                {"dropout", 0.375, dropout}},
               {{0, 40.0}, {1, 20.5}, {2, kNan}, {3, kInf}, {4, -kInf}, {5, 12.5}},
               {{"wer", 12.5}, {"tags", Json::array({"a", "b"})}, {"cfg", Json{{"x", 1}, {"y", nullptr}}}},
               {{"dial:worker", "w1"}}));
  DIAL_RETURN_IF_ERROR(AddTrial(storage, single, TrialState::kPruned, {30.0},
                                {{"lr", 0.05, lr}, {"layers", 2, layers}, {"optimizer", 5, optimizer}},
                                {{0, 45.0}, {1, 30.0}}, {}, {}));
  DIAL_RETURN_IF_ERROR(AddTrial(storage, single, TrialState::kFail, {}, {{"lr", 1e-5, lr}, {"optimizer", 4, optimizer}},
                                {}, {}, {{std::string(kFailReasonAttr), "exit code 1"}}));
  DIAL_RETURN_IF_ERROR(AddTrial(storage, single, TrialState::kComplete, {kInf},
                                {{"lr", 0.1, lr}, {"optimizer", 2, optimizer}, {"optimizer_b", 3, optimizer}}, {}, {},
                                {}));
  FrozenTrial waiting;  // enqueued: params fixed, not yet started
  waiting.state = TrialState::kWaiting;
  waiting.system_attrs[std::string(kFixedParamsAttr)] = Json{{"lr", 0.001}, {"layers", 4}, {"optimizer", "sgd"}};
  waiting.user_attrs["source"] = "enqueue";
  DIAL_RETURN_IF_ERROR(storage.CreateNewTrial(single, waiting).status());
  DIAL_RETURN_IF_ERROR(AddTrial(storage, single, TrialState::kRunning, {}, {{"lr", 0.02, lr}}, {{0, 1.5}}, {}, {}));

  DIAL_ASSIGN_OR_RETURN(StudyId multi,
                        storage.CreateNewStudy({StudyDirection::kMinimize, StudyDirection::kMaximize}, "dial_multi"));
  const FloatDistribution x{-5.0, 5.0};
  DIAL_RETURN_IF_ERROR(AddTrial(storage, multi, TrialState::kComplete, {1.0, 2.0}, {{"x", 1.0, x}}, {}, {}, {}));
  DIAL_RETURN_IF_ERROR(AddTrial(storage, multi, TrialState::kComplete, {-kInf, 3.5}, {{"x", -4.5, x}}, {}, {}, {}));
  DIAL_RETURN_IF_ERROR(AddTrial(storage, multi, TrialState::kComplete, {0.5, kInf}, {{"x", 0.25, x}}, {}, {},
                                {{std::string(kConstraintsAttr), Json::array({-1.0, 0.0})}}));
  DIAL_RETURN_IF_ERROR(AddTrial(storage, multi, TrialState::kFail, {}, {{"x", 2.0, x}}, {}, {}, {}));
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage = "usage: optuna_interop_tool write DB | dump DB STUDY  (DB: a SQLite path or a storage URL)";
  if (argc < 3) {
    std::cerr << usage << "\n";
    return 2;
  }
  const std::string command = argv[1];
  const std::string db = argv[2];
  Result<std::shared_ptr<Storage>> storage =
      OpenStorage(db.find("://") != std::string::npos ? db : std::string("sqlite:///") + db);
  if (!storage.ok()) {
    std::cerr << storage.status().ToString() << "\n";
    return 1;
  }
  Status status;
  if (command == "write" && argc == 3) {
    status = Write(**storage);
  } else if (command == "dump" && argc == 4) {
    status = Dump(**storage, argv[3]);
  } else {
    std::cerr << usage << "\n";
    return 2;
  }
  if (!status.ok()) {
    std::cerr << status.ToString() << "\n";
    return 1;
  }
  return 0;
}
