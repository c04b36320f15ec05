// The built-in samplers' factories from JSON options, used by the registry to register them by name.
#pragma once

#include <cstdint>
#include <memory>

#include "dial/sampler.h"

namespace dial::internal {

Result<std::unique_ptr<Sampler>> CreateRandomSamplerFromJson(const Json& options, uint64_t seed);
Result<std::unique_ptr<Sampler>> CreateGridSamplerFromJson(const Json& options, uint64_t seed);

}  // namespace dial::internal
