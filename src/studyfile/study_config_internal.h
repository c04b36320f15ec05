// Study-file helpers shared with the CLI (not public API): re-checking a config after command-line overrides.
#pragma once

#include "dial/status.h"
#include "dial/study_config.h"

namespace dial::internal {

// Fills in a grid sampler's search space from the config when its options have none, then creates the sampler
// and the pruner once to check their names and options. InvalidArgument naming the sampler or pruner.
Status CheckSamplerAndPruner(StudyConfig& config);

}  // namespace dial::internal
