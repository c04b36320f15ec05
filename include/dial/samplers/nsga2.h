// The NSGA-II sampler (Deb, Pratap, Agarwal & Meyarivan 2002): a genetic algorithm for one or several
// objectives. Each generation's children are bred from the parent population by binary tournament (rank, then
// crowding distance), crossover and mutation; the next parents are the elite of parents ∪ children by fast
// non-dominated sorting and crowding distance. As Optuna's NSGAIISampler.
//
// Constraints: a trial whose system attribute "constraints" holds a list of numbers (Optuna's name; feasible
// when all are ≤ 0) is compared by constrained domination: feasible beats infeasible, between two infeasible
// trials the smaller total violation Σ max(0, c_i) wins, between two feasible ones ordinary domination.
//
// Several workers share one population through storage: each trial records its generation in the system
// attribute "nsga2:generation" (Optuna's key), and once a generation has population_size COMPLETE trials the
// first worker to need its elite fixes it in the study system attribute "dial:nsga2:parents:<generation>"
// (compare-and-set), which every worker then reads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "dial/sampler.h"
#include "dial/status.h"

namespace dial {

enum class Nsga2Crossover {
  kUniform,   // each coordinate from either parent (Syswerda 1989)
  kSbx,       // simulated binary crossover (Deb & Agrawal 1995), η = 20 with several objectives, 2 with one
  kBlxAlpha,  // uniform in the parents' box widened by α = 0.5 of its size on each side (Eshelman & Schaffer 1992)
};

struct Nsga2SamplerOptions {
  int population_size = 50;             // ≥ 2
  std::optional<double> mutation_prob;  // per parameter; unset: 1 / (number of parameters)
  double crossover_prob = 0.9;          // otherwise the child copies one parent
  double swapping_prob = 0.5;           // uniform crossover: each parameter from the second parent
  Nsga2Crossover crossover = Nsga2Crossover::kUniform;
  uint64_t seed = 0;
  // InvalidArgument naming the option: population_size < 2, a probability outside [0, 1].
  Status Validate() const;
};

// Thread-compatible: one sampler per Study object.
std::unique_ptr<Sampler> NewNsga2Sampler(const Nsga2SamplerOptions& options);

}  // namespace dial
