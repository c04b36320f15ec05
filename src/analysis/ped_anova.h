// PED-ANOVA's pieces (Watanabe, Bansal & Hutter, "PED-ANOVA: Efficiently Quantifying Hyperparameter Importance in
// Arbitrary Subspaces", IJCAI 2023): one-dimensional densities of a parameter on a grid, and the Pearson divergence
// between the density among the top trials and the density among all trials. Internal to src/analysis.
//
// The paper shows that the variance of the indicator "the trial is in the top γ′ quantile" explained by parameter d
// within the γ set is (γ′/γ)² D_Pearson(p_γ′ ‖ p_γ) for its marginal densities, so the divergence
//   D(p_top ‖ p_local) = Σ_g p_local(g) (p_top(g) / p_local(g) − 1)²
// ranks parameters by how much reaching the top depends on them, at the cost of two 1-d density estimates each.
#pragma once

#include <vector>

namespace dial::internal {

// The number of grid points a numeric parameter's range is cut into (fewer for a short integer or step grid).
inline constexpr int kPedAnovaMaxGridSize = 50;
// The weight of the uniform-like prior kernel that keeps the densities from being zero (in trials).
inline constexpr double kPedAnovaPriorWeight = 1.0;

// The density on grid points 0 … n−1 of a numeric parameter from `counts[g]` trials at point g: a mixture of
// discretised Gaussians truncated to the grid, one at each occupied point weighted by its count with the bandwidth of
// Scott's rule on the grid indices,
//   σ = 1.059 · min(IQR / 1.34, s) · N^(−1/5),  at least 0.5 / 1.64 (so 90% of a kernel's mass stays in its cell),
// plus a prior kernel at the centre with σ = n and weight kPedAnovaPriorWeight. Adds up to 1.
std::vector<double> NumericGridDensity(const std::vector<double>& counts);

// The density of a categorical parameter: counts smoothed by a uniform prior of weight kPedAnovaPriorWeight,
//   p(c) = (count_c + w / K) / (N + w).
std::vector<double> CategoricalDensity(const std::vector<double>& counts);

// Σ_g p_local(g) (p_top(g) / p_local(g) − 1)², with 1e-12 added to both densities so it stays finite.
double PearsonDivergence(const std::vector<double>& p_top, const std::vector<double>& p_local);

}  // namespace dial::internal
