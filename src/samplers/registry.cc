// The sampler registry: samplers are found by name ("random", "grid", …), the name used in YAML, storage,
// logs and benchmarks. Built-ins are registered explicitly on first use, not by static initialisers (which a
// static library may silently drop).
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dial/sampler.h"
#include "samplers/builtin_samplers.h"

namespace dial {
namespace {

struct SamplerRegistry {
  std::mutex mu;
  std::map<std::string, SamplerFactory> factories;  // GUARDED_BY(mu)
};

SamplerRegistry& Registry() {
  static SamplerRegistry* registry = [] {
    auto* r = new SamplerRegistry;  // never destroyed: samplers may be created during static destruction
    r->factories["random"] = &internal::CreateRandomSamplerFromJson;
    r->factories["grid"] = &internal::CreateGridSamplerFromJson;
    r->factories["tpe"] = &internal::CreateTpeSamplerFromJson;
    r->factories["gp"] = &internal::CreateGpSamplerFromJson;
    r->factories["cmaes"] = &internal::CreateCmaesSamplerFromJson;
    r->factories["qmc"] = &internal::CreateQmcSamplerFromJson;
    r->factories["nsga2"] = &internal::CreateNsga2SamplerFromJson;
    r->factories["staged"] = &internal::CreateStagedSamplerFromJson;
    r->factories["auto"] = &internal::CreateAutoSamplerFromJson;
    return r;
  }();
  return *registry;
}

}  // namespace

void RegisterSampler(const std::string& name, SamplerFactory factory) {
  SamplerRegistry& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories[name] = std::move(factory);
}

Result<std::unique_ptr<Sampler>> CreateSampler(const std::string& name, const Json& options, uint64_t seed) {
  SamplerFactory factory;
  {
    SamplerRegistry& r = Registry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.factories.find(name);
    if (it == r.factories.end()) {
      std::string known;
      for (const auto& [n, f] : r.factories) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgument("unknown sampler '" + name + "' (known samplers: " + known + ")");
    }
    factory = it->second;
  }
  // The factory runs outside the lock: it may itself create samplers (a wrapper around another).
  return factory(options, seed);
}

std::vector<std::string> RegisteredSamplerNames() {
  SamplerRegistry& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [n, f] : r.factories) names.push_back(n);
  return names;
}

}  // namespace dial
