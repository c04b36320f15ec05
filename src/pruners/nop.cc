// The nop pruner: never prunes. The default, so that a study without a pruner runs every trial to the end.
#include "dial/pruner.h"
#include "pruners/builtin_pruners.h"
#include "util/options.h"

namespace dial {
namespace {

class NopPruner final : public Pruner {
 public:
  std::string Name() const override { return "nop"; }
  Result<bool> Prune(const Study& study, const FrozenTrial& trial) override { return false; }
};

}  // namespace

std::unique_ptr<Pruner> NewNopPruner() { return std::make_unique<NopPruner>(); }

namespace internal {

Result<std::unique_ptr<Pruner>> CreateNopPrunerFromJson(const Json& options) {
  DIAL_RETURN_IF_ERROR(CheckOptionKeys("pruner 'nop'", options, {}));
  return NewNopPruner();
}

}  // namespace internal
}  // namespace dial
