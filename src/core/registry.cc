// The registries of samplers and pruners by name ("tpe", "median", ...): the name used in YAML, storage, logs and
// benchmarks. The tables live here, below the samplers and pruners, so that Study::Create can find a sampler by
// name without the core depending on any sampler. The built-ins register themselves from their own libraries
// (src/samplers/builtin_registration.cc, src/pruners/builtin_registration.cc), which every program that links
// dial_samplers or dial_pruners links whole (CMake's WHOLE_ARCHIVE), so a static library cannot drop them.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dial/pruner.h"
#include "dial/sampler.h"
#include "util/strings.h"

namespace dial {
namespace {

// One table of factories by name. Never destroyed: a sampler may be created during static destruction.
template <class Factory>
struct Registry {
  std::mutex mu;
  std::map<std::string, Factory> factories;  // GUARDED_BY(mu)

  void Add(const std::string& name, Factory factory) {
    std::lock_guard<std::mutex> lock(mu);
    factories[name] = std::move(factory);
  }
  // The factory of `name`, or InvalidArgument naming it and the known names (`kind`: "sampler", "pruner").
  Result<Factory> Find(const std::string& name, const std::string& kind) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = factories.find(name);
    if (it != factories.end()) return it->second;
    if (factories.empty()) {
      return InvalidArgument("unknown " + kind + " '" + name + "' (no " + kind +
                             "s are registered: the program does not link dial_" + kind + "s)");
    }
    return InvalidArgument("unknown " + kind + " '" + name + "' (known " + kind + "s: " + Join(NamesLocked()) + ")");
  }
  std::vector<std::string> Names() {
    std::lock_guard<std::mutex> lock(mu);
    return NamesLocked();
  }

 private:
  std::vector<std::string> NamesLocked() const {
    std::vector<std::string> names;
    for (const auto& [n, f] : factories) names.push_back(n);
    return names;
  }
};

Registry<SamplerFactory>& Samplers() {
  static auto* registry = new Registry<SamplerFactory>;
  return *registry;
}

Registry<PrunerFactory>& Pruners() {
  static auto* registry = new Registry<PrunerFactory>;
  return *registry;
}

}  // namespace

void RegisterSampler(const std::string& name, SamplerFactory factory) { Samplers().Add(name, std::move(factory)); }

Result<std::unique_ptr<Sampler>> CreateSampler(const std::string& name, const Json& options, uint64_t seed) {
  DIAL_ASSIGN_OR_RETURN(SamplerFactory factory, Samplers().Find(name, "sampler"));
  // The factory runs outside the lock: it may itself create samplers (a wrapper around another).
  return factory(options, seed);
}

std::vector<std::string> RegisteredSamplerNames() { return Samplers().Names(); }

void RegisterPruner(const std::string& name, PrunerFactory factory) { Pruners().Add(name, std::move(factory)); }

Result<std::unique_ptr<Pruner>> CreatePruner(const std::string& name, const Json& options) {
  DIAL_ASSIGN_OR_RETURN(PrunerFactory factory, Pruners().Find(name, "pruner"));
  return factory(options);
}

std::vector<std::string> RegisteredPrunerNames() { return Pruners().Names(); }

}  // namespace dial
