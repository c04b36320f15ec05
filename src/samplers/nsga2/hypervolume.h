// The exact hypervolume of a 2-objective point set, to measure how close a front is to the true one.
#pragma once

#include <vector>

namespace dial::internal {

// The area dominated by minimised points (x, y) and bounded by `reference` = (r_x, r_y): after sorting by x,
// Σ (r_x − x_i)(y_prev − y_i) over the points that lower the running minimum of y, y_prev starting at r_y.
// Points not strictly better than the reference in both objectives add nothing.
double Hypervolume2d(std::vector<std::vector<double>> points, const std::vector<double>& reference);

}  // namespace dial::internal
