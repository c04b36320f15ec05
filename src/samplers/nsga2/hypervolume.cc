// Exact 2-d hypervolume; see hypervolume.h.
#include "samplers/nsga2/hypervolume.h"

#include <algorithm>
#include <cassert>

namespace dial::internal {

double Hypervolume2d(std::vector<std::vector<double>> points, const std::vector<double>& reference) {
  assert(reference.size() == 2);
  std::erase_if(points, [&](const std::vector<double>& p) { return !(p[0] < reference[0] && p[1] < reference[1]); });
  std::sort(points.begin(), points.end());
  double volume = 0.0;
  double y_prev = reference[1];
  for (const std::vector<double>& p : points) {
    if (p[1] >= y_prev) continue;  // dominated by an earlier point (smaller or equal x, smaller or equal y)
    volume += (reference[0] - p[0]) * (y_prev - p[1]);
    y_prev = p[1];
  }
  return volume;
}

}  // namespace dial::internal
