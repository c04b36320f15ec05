// How the GP sampler turns objective values into the outputs its GP models: a monotone warp that tames heavy
// tails (Rosenbrock's values span 1e0–1e5), then standardisation to mean 0 and variance 1.
#pragma once

#include <Eigen/Dense>

namespace dial::internal::gp {

enum class OutputTransform {
  kNone,  // standardise only
  kLog,   // y' = log(1 + (y − min y) / s), s the median of y − min y: linear near the best, logarithmic in the tail
  kRank,  // y' = Φ⁻¹((rank(y) − ½) / n), ties sharing their mean rank: a Gaussian copula of the values
};

// The warped and standardised outputs, in the same order; every value of y must be finite. Minimisation is
// assumed: the transforms keep the order of y.
Eigen::VectorXd TransformOutputs(const Eigen::VectorXd& y, OutputTransform transform);

// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation refined by one Halley step (relative error ~1e-15).
double InverseNormalCdf(double p);

}  // namespace dial::internal::gp
