// Truncated-normal functions for TPE's kernels; see truncnorm.h.
#include "samplers/tpe/truncnorm.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dial::internal::tpe {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kSqrt2 = 1.4142135623730950488;
constexpr double kSqrt2Pi = 2.5066282746310005024;
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log √(2π)
constexpr double kLogHalf = -0.69314718055994530942;
// Below this z, log Φ(z) comes from the asymptotic series (erfc would lose digits, then underflow).
constexpr double kAsymptoticZ = -20.0;
// Below this log p, exp(log p) is too close to underflow for Φ⁻¹: invert log Φ by Newton's method instead.
constexpr double kTinyLogP = -600.0;
constexpr int kMaxNewtonSteps = 100;

// Φ(z) = ½ erfc(−z/√2): full relative precision for z ≤ 0.
double Ndtr(double z) { return 0.5 * std::erfc(-z / kSqrt2); }

// log(exp(log_p) − exp(log_q)) for log_p ≥ log_q.
double LogDiff(double log_p, double log_q) { return log_p + std::log1p(-std::exp(log_q - log_p)); }

}  // namespace

double LogNdtr(double z) {
  // For z > 0, log Φ(z) = log1p(−Φ(−z)) keeps the small upper-tail mass exact (log Φ(z) is tiny there).
  if (z > 0.0) return std::log1p(-Ndtr(-z));
  if (z > kAsymptoticZ) return std::log(Ndtr(z));
  // Mills-ratio series: Φ(z) = φ(z)/(−z) · (1 − 1/z² + 1·3/z⁴ − 1·3·5/z⁶ + …) for z → −∞, summed until the
  // terms stop changing the total (they shrink while (2i − 1) < z², i.e. for hundreds of terms here).
  const double log_lead = -0.5 * z * z - std::log(-z) - kLogSqrt2Pi;
  const double inv_z2 = 1.0 / (z * z);
  double total = 1.0, last = 0.0, term = 1.0;
  for (int i = 1; std::fabs(total - last) > std::numeric_limits<double>::epsilon(); ++i) {
    last = total;
    term *= -(2.0 * i - 1.0) * inv_z2;
    total += term;
  }
  return log_lead + std::log(total);
}

double Ndtri(double p) {
  if (p <= 0.0) return -kInf;
  if (p >= 1.0) return kInf;
  if (p > 0.5) return -Ndtri(1.0 - p);  // 1 − p is exact for p ≥ ½
  // Acklam's rational approximation (relative error < 1.2e-9), then one Halley step on Φ(z) − p, which brings it
  // to full double precision. Coefficients: P. J. Acklam, "An algorithm for computing the inverse normal
  // cumulative distribution function" (2003).
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  constexpr double kLowRegion = 0.02425;
  double z;
  if (p < kLowRegion) {
    const double q = std::sqrt(-2.0 * std::log(p));
    z = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else {
    const double q = p - 0.5;
    const double r = q * q;
    z = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  // Halley: e = Φ(z) − p, u = e / φ(z), z ← z − u / (1 + z u / 2).
  const double e = Ndtr(z) - p;
  const double u = e * kSqrt2Pi * std::exp(0.5 * z * z);
  return z - u / (1.0 + 0.5 * z * u);
}

double NdtriExp(double log_p) {
  if (log_p >= 0.0) return kInf;
  if (log_p == -kInf) return -kInf;
  if (log_p > kLogHalf) return -Ndtri(-std::expm1(log_p));  // 1 − p = −expm1(log p), no cancellation
  if (log_p > kTinyLogP) return Ndtri(std::exp(log_p));
  // Newton on g(z) = log Φ(z) − log_p, g'(z) = φ(z)/Φ(z); start from the leading term log Φ(z) ≈ −z²/2.
  double z = -std::sqrt(-2.0 * log_p);
  for (int i = 0; i < kMaxNewtonSteps; ++i) {
    const double log_cdf = LogNdtr(z);
    const double slope = std::exp(-0.5 * z * z - kLogSqrt2Pi - log_cdf);
    const double step = (log_cdf - log_p) / slope;
    z -= step;
    if (std::fabs(step) <= 1e-15 * std::fabs(z)) break;
  }
  return z;
}

double LogGaussMass(double a, double b) {
  if (!(a < b)) return -kInf;
  // Work in the left tail, where Φ keeps its relative precision; use the symmetry Φ(−z) = 1 − Φ(z) otherwise.
  if (b <= 0.0) return LogDiff(LogNdtr(b), LogNdtr(a));
  if (a > 0.0) return LogDiff(LogNdtr(-a), LogNdtr(-b));
  // a ≤ 0 < b: the mass is 1 − Φ(a) − Φ(−b), two small terms without cancellation.
  return std::log1p(-Ndtr(a) - Ndtr(-b));
}

double TruncNormLogPdf(double z, double a, double b) {
  if (z < a || z > b) return -kInf;
  return -0.5 * z * z - kLogSqrt2Pi - LogGaussMass(a, b);
}

double TruncNormPpf(double u, double a, double b) {
  if (!(a < b)) return a;
  if (a >= 0.0) return -TruncNormPpf(1.0 - u, -b, -a);  // mirror into the left half
  double z;
  if (b <= 0.0) {
    // Both ends in the left tail: log(Φ(a) + u (Φ(b) − Φ(a))) = log Φ(b) + log(u + (1 − u) Φ(a)/Φ(b)).
    const double log_a = LogNdtr(a), log_b = LogNdtr(b);
    z = NdtriExp(log_b + std::log(u + (1.0 - u) * std::exp(log_a - log_b)));
  } else {
    // a < 0 < b: Φ(a) and Φ(−b) are both at most ½ and accurate; invert from the nearer tail.
    const double lower = Ndtr(a), upper = Ndtr(-b);
    const double mass = 1.0 - lower - upper;
    const double p = lower + u * mass;
    z = p <= 0.5 ? Ndtri(p) : -Ndtri(upper + (1.0 - u) * mass);
  }
  return std::clamp(z, a, b);
}

}  // namespace dial::internal::tpe
