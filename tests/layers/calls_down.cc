// The control probe: a function that uses dial_core from above (as a sampler or storage does) links with
// dial_core. If this one failed too, the failure of calls_up.cc would prove nothing.
#include "dial/distribution.h"

namespace dial::layer_probe {

bool CallsDown() { return Validate(Distribution(FloatDistribution{0.0, 1.0})).ok(); }

}  // namespace dial::layer_probe
