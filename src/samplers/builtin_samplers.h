// The built-in samplers' factories from JSON options, used by the registry to register them by name.
#pragma once

#include <cstdint>
#include <memory>

#include "dial/sampler.h"

namespace dial::internal {

Result<std::unique_ptr<Sampler>> CreateRandomSamplerFromJson(const Json& options, uint64_t seed);
Result<std::unique_ptr<Sampler>> CreateGridSamplerFromJson(const Json& options, uint64_t seed);
Result<std::unique_ptr<Sampler>> CreateTpeSamplerFromJson(const Json& options, uint64_t seed);
Result<std::unique_ptr<Sampler>> CreateGpSamplerFromJson(const Json& options, uint64_t seed);
Result<std::unique_ptr<Sampler>> CreateCmaesSamplerFromJson(const Json& options, uint64_t seed);
Result<std::unique_ptr<Sampler>> CreateQmcSamplerFromJson(const Json& options, uint64_t seed);
Result<std::unique_ptr<Sampler>> CreateNsga2SamplerFromJson(const Json& options, uint64_t seed);
// Meta-samplers built from the others: `staged` (one sampler after another) and `auto` (picks one).
Result<std::unique_ptr<Sampler>> CreateStagedSamplerFromJson(const Json& options, uint64_t seed);
Result<std::unique_ptr<Sampler>> CreateAutoSamplerFromJson(const Json& options, uint64_t seed);

}  // namespace dial::internal
