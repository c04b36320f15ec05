// Registers the built-in samplers by name in the core's registry when the program starts. This file is its own
// library, linked whole into every program that links dial_samplers (src/samplers/CMakeLists.txt), so its static
// initialiser always runs.
#include "dial/sampler.h"
#include "samplers/builtin_samplers.h"

namespace dial::internal {
namespace {

const bool kBuiltinSamplersRegistered = [] {
  RegisterSampler("random", &CreateRandomSamplerFromJson);
  RegisterSampler("grid", &CreateGridSamplerFromJson);
  RegisterSampler("tpe", &CreateTpeSamplerFromJson);
  RegisterSampler("gp", &CreateGpSamplerFromJson);
  RegisterSampler("cmaes", &CreateCmaesSamplerFromJson);
  RegisterSampler("qmc", &CreateQmcSamplerFromJson);
  RegisterSampler("nsga2", &CreateNsga2SamplerFromJson);
  RegisterSampler("staged", &CreateStagedSamplerFromJson);
  RegisterSampler("auto", &CreateAutoSamplerFromJson);
  return true;
}();

}  // namespace
}  // namespace dial::internal
