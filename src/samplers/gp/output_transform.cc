// Output warps and standardisation for the GP sampler; see output_transform.h.
#include "samplers/gp/output_transform.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <vector>

namespace dial::internal::gp {
namespace {

// A spread below this (relative to the values' magnitude) counts as constant outputs.
constexpr double kMinRelativeSpread = 1e-12;

Eigen::VectorXd Standardize(const Eigen::VectorXd& y) {
  const double mean = y.mean();
  const double variance = (y.array() - mean).square().mean();
  const double scale = std::max(1.0, y.cwiseAbs().maxCoeff());
  const double stddev = std::sqrt(variance) > kMinRelativeSpread * scale ? std::sqrt(variance) : 1.0;
  return (y.array() - mean) / stddev;
}

}  // namespace

double InverseNormalCdf(double p) {
  // P. J. Acklam's algorithm: rational approximations on the central region and the tails.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  constexpr double kLowTail = 0.02425;
  double x = 0.0;
  if (p < kLowTail) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else if (p <= 1.0 - kLowTail) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    const double q = std::sqrt(-2.0 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  // Halley's step on Φ(x) − p = 0: e = Φ(x) − p, u = e √(2π) exp(x²/2), x ← x − u / (1 + x u / 2).
  const double e = 0.5 * std::erfc(-x / std::numbers::sqrt2) - p;
  const double u = e * std::sqrt(2.0 * std::numbers::pi) * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

Eigen::VectorXd TransformOutputs(const Eigen::VectorXd& y, OutputTransform transform) {
  const Eigen::Index n = y.size();
  if (n == 0) return y;
  switch (transform) {
    case OutputTransform::kNone:
      return Standardize(y);
    case OutputTransform::kLog: {
      const Eigen::ArrayXd shifted = y.array() - y.minCoeff();
      std::vector<double> sorted(shifted.begin(), shifted.end());
      std::nth_element(sorted.begin(), sorted.begin() + n / 2, sorted.end());
      double scale = sorted[n / 2];
      if (!(scale > 0)) scale = shifted.maxCoeff() > 0 ? shifted.maxCoeff() : 1.0;
      return Standardize((shifted / scale).log1p().matrix());
    }
    case OutputTransform::kRank: {
      std::vector<Eigen::Index> order(n);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return y[a] < y[b]; });
      Eigen::VectorXd out(n);
      for (Eigen::Index i = 0; i < n;) {
        Eigen::Index j = i;
        while (j + 1 < n && y[order[j + 1]] == y[order[i]]) ++j;
        const double mean_rank = 0.5 * static_cast<double>(i + j) + 1.0;  // 1-based ranks i+1 … j+1
        const double q = InverseNormalCdf((mean_rank - 0.5) / static_cast<double>(n));
        for (Eigen::Index k = i; k <= j; ++k) out[order[k]] = q;
        i = j + 1;
      }
      return Standardize(out);
    }
  }
  return Standardize(y);
}

}  // namespace dial::internal::gp
