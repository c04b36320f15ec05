// The exact hypervolume algorithms behind dial::Hypervolume (include/dial/analysis.h). Internal to src/analysis.
#pragma once

#include <vector>

namespace dial::internal {

// 2 objectives, minimised, every point strictly better than `reference` in both: sort by the first objective and
// sweep, adding the rectangle each point adds below the running minimum of the second,
//   HV = Σ_i (r_1 − x_i)(y_prev − y_i)   over points with y_i < y_prev, y_prev starting at r_2.
double SweepHypervolume2d(std::vector<std::vector<double>> points, const std::vector<double>& reference);

// d ≥ 2 objectives, minimised, every point strictly better than `reference` in all: slice along the last objective
// (Hypervolume by Slicing Objectives, While et al. 2006). With the points sorted by z = the last objective,
//   HV_d(P) = Σ_k HV_{d−1}({p ∈ P : z(p) ≤ z_k} projected) · (z_{k+1} − z_k),   z_{n+1} = r_d,
// recursing down to the 2-objective sweep.
double SlicingHypervolume(std::vector<std::vector<double>> points, const std::vector<double>& reference);

}  // namespace dial::internal
