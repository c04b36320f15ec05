// Registers the built-in pruners by name in the core's registry when the program starts. This file is its own
// library, linked whole into every program that links dial_pruners (src/pruners/CMakeLists.txt), so its static
// initialiser always runs.
#include "dial/pruner.h"
#include "pruners/builtin_pruners.h"

namespace dial::internal {
namespace {

const bool kBuiltinPrunersRegistered = [] {
  RegisterPruner("nop", &CreateNopPrunerFromJson);
  RegisterPruner("median", &CreateMedianPrunerFromJson);
  RegisterPruner("percentile", &CreatePercentilePrunerFromJson);
  RegisterPruner("threshold", &CreateThresholdPrunerFromJson);
  RegisterPruner("patient", &CreatePatientPrunerFromJson);
  RegisterPruner("successive_halving", &CreateSuccessiveHalvingPrunerFromJson);
  RegisterPruner("hyperband", &CreateHyperbandPrunerFromJson);
  return true;
}();

}  // namespace
}  // namespace dial::internal
