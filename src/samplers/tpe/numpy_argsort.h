// numpy's default argsort (kind="quicksort": introsort with median-of-3 pivots, insertion sort below 16 elements,
// heapsort past the depth limit), reproduced because Optuna's univariate bandwidths depend on how it orders tied
// values: among equal observations (an int parameter), the ends of the run get the gaps to the neighbours and the
// rest the smallest bandwidth, and which observation that is changes the mixture when weights differ.
#pragma once

#include <vector>

namespace dial::internal::tpe {

// Fills `order` with the permutation numpy.argsort(values) returns (NaN last, as numpy orders them).
void NumpyArgsort(const std::vector<double>& values, std::vector<int>* order);

}  // namespace dial::internal::tpe
