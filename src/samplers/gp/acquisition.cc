// Log-EI and LCB; see acquisition.h.
#include "samplers/gp/acquisition.h"

#include <cmath>
#include <numbers>

namespace dial::internal::gp {
namespace {

constexpr double kSqrtPiOver2 = 1.2533141373155002512;  // √(π/2)
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // ½ log 2π
// Above this argument exp(x²) erfc(x) is replaced by its asymptotic series (erfc underflows near x = 26.5).
constexpr double kErfcxAsymptoticFrom = 25.0;
// Below this z, B(z) = h(z) / φ(z) comes from its asymptotic series instead of 1 − |z| √(π/2) erfcx(|z|/√2),
// whose cancellation would lose about 2 log10 |z| digits.
constexpr double kLogHAsymptoticBelow = -100.0;
// h(z) = φ(z) + zΦ(z) is computed directly above this z (no cancellation there: h(−1) ≈ 0.083).
constexpr double kLogHDirectAbove = -1.0;

double NormalPdf(double z) { return std::exp(-0.5 * z * z - kHalfLog2Pi); }
double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }

}  // namespace

double Erfcx(double x) {
  if (x < 0) return 2.0 * std::exp(x * x) - Erfcx(-x);  // erfc(−x) = 2 − erfc(x)
  if (x < kErfcxAsymptoticFrom) return std::exp(x * x) * std::erfc(x);
  // erfcx(x) ~ 1/(x√π) Σₖ (−1)ᵏ (2k−1)!! / (2x²)ᵏ; seven terms reach 1e-16 for x ≥ 25.
  const double t = 1.0 / (2.0 * x * x);
  double term = 1.0, sum = 1.0;
  for (int k = 1; k <= 7; ++k) {
    term *= -(2.0 * k - 1.0) * t;
    sum += term;
  }
  return sum / (x * std::sqrt(std::numbers::pi));
}

double LogH(double z, double* derivative) {
  if (z > kLogHDirectAbove) {
    const double cdf = NormalCdf(z);
    const double h = NormalPdf(z) + z * cdf;
    if (derivative) *derivative = cdf / h;  // h'(z) = Φ(z)
    return std::log(h);
  }
  // With Φ(z) = ½ erfcx(−z/√2) exp(−z²/2): h(z) = φ(z) B(z), B(z) = 1 − |z| √(π/2) erfcx(|z|/√2), so
  // log h = −z²/2 − ½ log 2π + log B and Φ/h = √(π/2) erfcx(|z|/√2) / B.
  const double a = -z;
  const double scaled_tail = kSqrtPiOver2 * Erfcx(a / std::numbers::sqrt2);  // Φ(z) / φ(z)
  double log_b = 0.0, b = 0.0;
  if (z > kLogHAsymptoticBelow) {
    b = 1.0 - a * scaled_tail;
    log_b = std::log(b);
  } else {
    // B(z) = 1/z² − 3/z⁴ + 15/z⁶ − 105/z⁸ + 945/z¹⁰ − …, from the series of erfcx.
    const double u = 1.0 / (z * z);
    const double series = 1.0 - u * (3.0 - u * (15.0 - u * (105.0 - u * 945.0)));
    b = u * series;
    log_b = std::log(u) + std::log(series);
  }
  if (derivative) *derivative = scaled_tail / b;
  return -0.5 * z * z - kHalfLog2Pi + log_b;
}

AcquisitionValue LogExpectedImprovement(double mean, double stddev, double best) {
  const double z = (best - mean) / stddev;
  double dlogh = 0.0;
  const double logh = LogH(z, &dlogh);
  // ∂z/∂μ = −1/σ, ∂z/∂σ = −z/σ.
  AcquisitionValue out;
  out.value = std::log(stddev) + logh;
  out.d_mean = -dlogh / stddev;
  out.d_stddev = (1.0 - z * dlogh) / stddev;
  return out;
}

AcquisitionValue NegatedLowerConfidenceBound(double mean, double stddev, double beta) {
  const double root_beta = std::sqrt(beta);
  return {-mean + root_beta * stddev, -1.0, root_beta};
}

}  // namespace dial::internal::gp
