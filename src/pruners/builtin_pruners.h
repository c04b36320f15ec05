// The built-in pruners' factories from JSON options, used by the registry to register them by name.
#pragma once

#include <memory>

#include "dial/pruner.h"

namespace dial::internal {

Result<std::unique_ptr<Pruner>> CreateNopPrunerFromJson(const Json& options);
Result<std::unique_ptr<Pruner>> CreateMedianPrunerFromJson(const Json& options);
Result<std::unique_ptr<Pruner>> CreatePercentilePrunerFromJson(const Json& options);
Result<std::unique_ptr<Pruner>> CreateThresholdPrunerFromJson(const Json& options);
Result<std::unique_ptr<Pruner>> CreatePatientPrunerFromJson(const Json& options);

}  // namespace dial::internal
