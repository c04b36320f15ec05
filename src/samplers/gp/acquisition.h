// Acquisition functions of the GP sampler for minimisation: log expected improvement, computed stably far into the
// tail (Ament, Daulton, Eriksson, Balandat & Bakshy 2023, "Unexpected improvements to expected improvement for
// Bayesian optimization"), and the lower confidence bound. Each returns a value to maximise and its derivatives
// with respect to the posterior mean and standard deviation, so callers chain them to ∂/∂x.
#pragma once

namespace dial::internal::gp {

// erfcx(x) = exp(x²) erfc(x), the scaled complementary error function; relative error about 1e-13 for x ≥ 0 and
// +inf where exp(x²) overflows (x < −26.6).
double Erfcx(double x);

// log h(z) with h(z) = φ(z) + z Φ(z) (φ, Φ the standard normal density and distribution), finite for every finite
// z; writes d log h / dz = Φ(z) / h(z) into *derivative when non-null.
double LogH(double z, double* derivative = nullptr);

// A value of an acquisition function and its partial derivatives in the posterior mean μ and stddev σ.
struct AcquisitionValue {
  double value = 0.0;
  double d_mean = 0.0;
  double d_stddev = 0.0;
};

// log EI for minimisation: EI = E[max(f* − f, 0)] = σ h(z), z = (f* − μ) / σ, so log EI = log σ + log h(z).
// σ must be positive.
AcquisitionValue LogExpectedImprovement(double mean, double stddev, double best);

// The negated lower confidence bound, −(μ − √β σ), to maximise.
AcquisitionValue NegatedLowerConfidenceBound(double mean, double stddev, double beta);

}  // namespace dial::internal::gp
