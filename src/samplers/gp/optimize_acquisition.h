// Maximisation of the GP sampler's acquisition function over the unit cube of a mixed search space: quasi-random
// and local candidates scored in one batch, the best refined by L-BFGS-B on the continuous coordinates, integer
// coordinates rounded and categorical choices enumerated, never moved by gradients.
#pragma once

#include <Eigen/Dense>
#include <functional>
#include <vector>

#include "samplers/gp/gaussian_process.h"
#include "util/random.h"

namespace dial::internal::gp {

enum class AcquisitionKind { kLogEi, kUcb };

// What the optimiser must know about the cube's coordinates.
struct CubeLayout {
  int dims = 0;
  std::vector<int> continuous;                 // floats and ints: moved by gradient steps
  std::vector<std::vector<int>> categoricals;  // the one-hot columns of each categorical parameter
  bool has_discrete = false;                   // some continuous coordinate is an int or a stepped float
  // Moves discrete coordinates to the centre of their grid cell (and one-hots to exact 0/1); used only when
  // has_discrete.
  std::function<Eigen::VectorXd(const Eigen::VectorXd&)> snap;
};

struct AcquisitionOptions {
  AcquisitionKind kind = AcquisitionKind::kLogEi;
  double beta = 2.0;        // UCB: −(μ − √β σ)
  double best = 0.0;        // log EI: the incumbent f* (in the GP's output units)
  int n_candidates = 2048;  // scored in one batch
  int n_local_search = 8;   // of the best candidates, refined by gradient steps
  int max_local_iterations = 50;
};

// The acquisition value at x and its gradient in x (all coordinates) when gradient is non-null.
double Acquisition(const GaussianProcess& gp, const AcquisitionOptions& options, const Eigen::VectorXd& x,
                   Eigen::VectorXd* gradient);

// The best point found. `incumbents` (rows, best first; may be empty) seed the local candidates: a quarter of
// the batch perturbs them at random scales and coordinates.
Eigen::VectorXd MaximizeAcquisition(const GaussianProcess& gp, const CubeLayout& layout,
                                    const Eigen::MatrixXd& incumbents, const AcquisitionOptions& options,
                                    SplitMix64& rng);

}  // namespace dial::internal::gp
