// The pruner registry: pruners are found by name ("nop", "median", …), the name used in YAML, storage and
// logs. Built-ins are registered explicitly on first use, not by static initialisers.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dial/pruner.h"
#include "pruners/builtin_pruners.h"

namespace dial {
namespace {

struct PrunerRegistry {
  std::mutex mu;
  std::map<std::string, PrunerFactory> factories;  // GUARDED_BY(mu)
};

PrunerRegistry& Registry() {
  static PrunerRegistry* registry = [] {
    auto* r = new PrunerRegistry;  // never destroyed: pruners may be created during static destruction
    r->factories["nop"] = &internal::CreateNopPrunerFromJson;
    r->factories["median"] = &internal::CreateMedianPrunerFromJson;
    r->factories["percentile"] = &internal::CreatePercentilePrunerFromJson;
    r->factories["threshold"] = &internal::CreateThresholdPrunerFromJson;
    r->factories["patient"] = &internal::CreatePatientPrunerFromJson;
    r->factories["successive_halving"] = &internal::CreateSuccessiveHalvingPrunerFromJson;
    r->factories["hyperband"] = &internal::CreateHyperbandPrunerFromJson;
    return r;
  }();
  return *registry;
}

}  // namespace

void RegisterPruner(const std::string& name, PrunerFactory factory) {
  PrunerRegistry& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories[name] = std::move(factory);
}

Result<std::unique_ptr<Pruner>> CreatePruner(const std::string& name, const Json& options) {
  PrunerFactory factory;
  {
    PrunerRegistry& r = Registry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.factories.find(name);
    if (it == r.factories.end()) {
      std::string known;
      for (const auto& [n, f] : r.factories) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgument("unknown pruner '" + name + "' (known pruners: " + known + ")");
    }
    factory = it->second;
  }
  return factory(options);
}

std::vector<std::string> RegisteredPrunerNames() {
  PrunerRegistry& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [n, f] : r.factories) names.push_back(n);
  return names;
}

}  // namespace dial
