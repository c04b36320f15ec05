// PED-ANOVA densities and divergence; see ped_anova.h.
#include "analysis/ped_anova.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

namespace dial::internal {
namespace {

// Scott's rule (Scott 1992, Multivariate Density Estimation): σ = 1.059 · min(IQR / 1.34, s) · N^(−1/5).
constexpr double kScottFactor = 1.059;
constexpr double kNormalIqr = 1.34;  // the interquartile range of a standard normal
// The smallest bandwidth: 1.64σ = half a grid cell, so a kernel keeps 90% of its mass in its own cell.
constexpr double kMinBandwidth = 0.5 / 1.64;
constexpr double kDensityFloor = 1e-12;

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// A Gaussian N(μ, σ²) discretised on the integers 0 … n−1 (the mass of [g − ½, g + ½] at g) and renormalised.
std::vector<double> DiscretisedNormal(double mu, double sigma, int n) {
  std::vector<double> mass(n);
  double total = 0.0;
  for (int g = 0; g < n; ++g) {
    mass[g] = NormalCdf((g + 0.5 - mu) / sigma) - NormalCdf((g - 0.5 - mu) / sigma);
    total += mass[g];
  }
  if (total > 0) {
    for (double& m : mass) m /= total;
  } else {
    mass.assign(n, 1.0 / n);  // far out in a tail: spread evenly rather than divide by zero
  }
  return mass;
}

// The grid index below which a `fraction` of the trials lie.
int WeightedQuantileIndex(const std::vector<double>& counts, double fraction) {
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  double cumulative = 0.0;
  for (size_t g = 0; g < counts.size(); ++g) {
    cumulative += counts[g];
    if (cumulative >= fraction * total && counts[g] > 0) return static_cast<int>(g);
  }
  return static_cast<int>(counts.size()) - 1;
}

}  // namespace

std::vector<double> NumericGridDensity(const std::vector<double>& counts) {
  const int n = static_cast<int>(counts.size());
  assert(n >= 1);
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  double mean = 0.0;
  for (int g = 0; g < n; ++g) mean += g * counts[g];
  mean = total > 0 ? mean / total : 0.0;
  double sum_sq = 0.0;
  for (int g = 0; g < n; ++g) sum_sq += counts[g] * (g - mean) * (g - mean);
  const double stddev = std::sqrt(sum_sq / std::max(1.0, total - 1.0));
  const double iqr = WeightedQuantileIndex(counts, 0.75) - WeightedQuantileIndex(counts, 0.25);
  const double scott = total > 0 ? kScottFactor * std::min(iqr / kNormalIqr, stddev) * std::pow(total, -0.2) : 0.0;
  const double sigma = std::max(scott, kMinBandwidth);

  std::vector<double> density(n, 0.0);
  for (int g = 0; g < n; ++g) {
    if (counts[g] <= 0) continue;
    const std::vector<double> kernel = DiscretisedNormal(g, sigma, n);
    for (int h = 0; h < n; ++h) density[h] += counts[g] * kernel[h];
  }
  const std::vector<double> prior = DiscretisedNormal(0.5 * (n - 1), static_cast<double>(n), n);
  for (int h = 0; h < n; ++h) density[h] += kPedAnovaPriorWeight * prior[h];
  const double norm = total + kPedAnovaPriorWeight;
  for (double& d : density) d /= norm;
  return density;
}

std::vector<double> CategoricalDensity(const std::vector<double>& counts) {
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  const double k = static_cast<double>(counts.size());
  std::vector<double> density(counts.size());
  for (size_t c = 0; c < counts.size(); ++c) {
    density[c] = (counts[c] + kPedAnovaPriorWeight / k) / (total + kPedAnovaPriorWeight);
  }
  return density;
}

double PearsonDivergence(const std::vector<double>& p_top, const std::vector<double>& p_local) {
  assert(p_top.size() == p_local.size());
  double divergence = 0.0;
  for (size_t g = 0; g < p_top.size(); ++g) {
    const double top = p_top[g] + kDensityFloor, local = p_local[g] + kDensityFloor;
    const double ratio = top / local - 1.0;
    divergence += local * ratio * ratio;
  }
  return divergence;
}

}  // namespace dial::internal
