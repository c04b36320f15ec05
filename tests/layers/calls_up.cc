// A probe that plays a core-layer module calling up into dial_exec (PlaceholderNames, include/dial/placeholder.h).
// It is linked with dial_core alone, as dial_core's own layer check is: the link must fail with an undefined
// reference, which is what tests/layers/check.sh asserts.
#include "dial/placeholder.h"

namespace dial::layer_probe {

bool CallsUp() { return PlaceholderNames("{trial_number}").ok(); }

}  // namespace dial::layer_probe
