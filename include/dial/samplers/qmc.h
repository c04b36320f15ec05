// The quasi-Monte Carlo sampler: trial number k takes the k-th point of a scrambled Sobol' or Halton sequence,
// mapped onto the search space, so a study covers its space more evenly than random draws (Optuna's
// QMCSampler). Workers sharing the study never collide, since trial numbers are unique.
//
// The jointly sampled space is fixed once, from the first finished trial (Optuna's rule), and recorded in the
// study system attribute "dial:qmc:search_space" so every worker uses the same one. Categorical parameters,
// parameters outside that space, and the first trial are drawn by the random sampler with the same seed.
#pragma once

#include <cstdint>
#include <memory>

#include "dial/sampler.h"
#include "dial/status.h"

namespace dial {

enum class QmcType {
  kSobol,   // Sobol' (Joe & Kuo 2008 direction numbers), up to 1,024 dimensions; Gray-code order as scipy's
  kHalton,  // Halton: dimension j in the j-th prime base, up to 1,024 dimensions
};

struct QmcSamplerOptions {
  QmcType qmc_type = QmcType::kSobol;
  // Sobol': Owen's nested uniform scrambling; Halton: a random permutation of the digits for every base and
  // digit position. Scrambled points stay a low-discrepancy set and are unbiased; unscrambled ones start at
  // the lower corner of the space. Optuna's default is false; ours is true.
  bool scramble = true;
  uint64_t seed = 0;  // the scrambling and the random sampler's draws
  Status Validate() const;
};

// Thread-compatible: one sampler per Study object.
std::unique_ptr<Sampler> NewQmcSampler(const QmcSamplerOptions& options);

}  // namespace dial
