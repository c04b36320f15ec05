// Output warps and standardisation for the GP sampler; see output_transform.h.
#include "samplers/gp/output_transform.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "samplers/tpe/truncnorm.h"

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

// One implementation of Φ⁻¹ serves both samplers: TPE's truncated normal has it (Acklam + one Halley step).
double InverseNormalCdf(double p) { return tpe::Ndtri(p); }

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
