// NSGA-II's building blocks; see nsga2_core.h. "Deb 2002" is Deb, Pratap, Agarwal & Meyarivan, IEEE TEC 6(2).
#include "samplers/nsga2/nsga2_core.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace dial::internal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// SBX: the parents' gap is floored here so that equal parents do not divide by zero (as Optuna).
constexpr double kMinParentGap = 1e-10;

}  // namespace

double TotalViolation(const std::vector<double>& constraints) {
  double total = 0.0;
  for (double c : constraints) {
    if (std::isnan(c)) return kInf;
    if (c > 0) total += c;
  }
  return total;
}

bool Dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool better = false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
    better = better || a[i] < b[i];
  }
  return better;
}

bool ConstrainedDominates(const Individual& a, const Individual& b) {
  if (!a.constraints && !b.constraints) return Dominates(a.values, b.values);
  if (!b.constraints) return true;
  if (!a.constraints) return false;
  const double va = TotalViolation(*a.constraints), vb = TotalViolation(*b.constraints);
  if (va == 0 && vb == 0) return Dominates(a.values, b.values);
  return va < vb;  // feasible (0) beats infeasible; the smaller violation wins between infeasible ones
}

std::vector<std::vector<int>> NonDominatedSort(const std::vector<Individual>& population) {
  const int n = static_cast<int>(population.size());
  std::vector<std::vector<int>> dominated(n);  // S_p: the members p dominates
  std::vector<int> count(n, 0);                // n_p: how many dominate p
  for (int p = 0; p < n; ++p) {
    for (int q = p + 1; q < n; ++q) {
      if (ConstrainedDominates(population[p], population[q])) {
        dominated[p].push_back(q);
        ++count[q];
      } else if (ConstrainedDominates(population[q], population[p])) {
        dominated[q].push_back(p);
        ++count[p];
      }
    }
  }
  std::vector<std::vector<int>> fronts;
  std::vector<int> current;
  for (int p = 0; p < n; ++p) {
    if (count[p] == 0) current.push_back(p);
  }
  while (!current.empty()) {
    std::vector<int> next;
    for (int p : current) {
      for (int q : dominated[p]) {
        if (--count[q] == 0) next.push_back(q);
      }
    }
    std::sort(next.begin(), next.end());
    fronts.push_back(std::move(current));
    current = std::move(next);
  }
  return fronts;
}

std::vector<double> CrowdingDistances(const std::vector<Individual>& population, const std::vector<int>& front) {
  const size_t n = front.size();
  std::vector<double> distance(n, 0.0);
  if (n == 0) return distance;
  const size_t n_objectives = population[front[0]].values.size();
  std::vector<size_t> order(n);
  for (size_t m = 0; m < n_objectives; ++m) {
    auto value = [&](size_t i) { return population[front[i]].values[m]; };
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return value(a) < value(b); });
    if (value(order.front()) == value(order.back())) continue;  // no spread in this objective
    double lo = kInf, hi = -kInf;                               // the finite extremes
    for (size_t i = 0; i < n; ++i) {
      if (std::isfinite(value(i))) lo = std::min(lo, value(i)), hi = std::max(hi, value(i));
    }
    double width = hi - lo;
    if (!(width > 0)) width = 1.0;
    // d_i += (f_{i+1} − f_{i−1}) / (f_max − f_min), the sequence padded with −∞ and +∞ so the extremes get ∞
    // (Deb 2002, crowding-distance-assignment); ∞ − ∞ counts as 0.
    for (size_t k = 0; k < n; ++k) {
      const double before = k == 0 ? -kInf : value(order[k - 1]);
      const double after = k + 1 == n ? kInf : value(order[k + 1]);
      distance[order[k]] += before == after ? 0.0 : (after - before) / width;
    }
  }
  return distance;
}

std::vector<int> SelectElite(const std::vector<Individual>& population, int n) {
  std::vector<int> elite;
  for (const std::vector<int>& front : NonDominatedSort(population)) {
    if (static_cast<int>(elite.size() + front.size()) <= n) {
      elite.insert(elite.end(), front.begin(), front.end());
      if (static_cast<int>(elite.size()) == n) break;
      continue;
    }
    // The front that overflows: its least crowded members first (Deb 2002, the crowded-comparison operator).
    const std::vector<double> distance = CrowdingDistances(population, front);
    std::vector<size_t> order(front.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return distance[a] > distance[b]; });
    for (size_t k = 0; static_cast<int>(elite.size()) < n; ++k) elite.push_back(front[order[k]]);
    break;
  }
  return elite;
}

Fitness ComputeFitness(const std::vector<Individual>& population) {
  Fitness f;
  f.rank.assign(population.size(), 0);
  f.crowding.assign(population.size(), 0.0);
  const std::vector<std::vector<int>> fronts = NonDominatedSort(population);
  for (size_t r = 0; r < fronts.size(); ++r) {
    const std::vector<double> distance = CrowdingDistances(population, fronts[r]);
    for (size_t k = 0; k < fronts[r].size(); ++k) {
      f.rank[fronts[r][k]] = static_cast<int>(r);
      f.crowding[fronts[r][k]] = distance[k];
    }
  }
  return f;
}

int Tournament(const Fitness& fitness, SplitMix64& rng, int exclude) {
  std::vector<int> pool;
  for (int i = 0; i < static_cast<int>(fitness.rank.size()); ++i) {
    if (i != exclude) pool.push_back(i);
  }
  if (pool.empty()) return exclude;  // a population of one
  const size_t i = UniformIndex(rng, pool.size());
  if (pool.size() == 1) return pool[i];
  size_t j = UniformIndex(rng, pool.size() - 1);
  j += j >= i;  // a second, distinct member
  const int a = pool[i], b = pool[j];
  if (fitness.rank[b] != fitness.rank[a]) return fitness.rank[b] < fitness.rank[a] ? b : a;
  return fitness.crowding[b] > fitness.crowding[a] ? b : a;
}

std::vector<double> UniformCrossover(const std::vector<double>& a, const std::vector<double>& b, double swapping_prob,
                                     SplitMix64& rng) {
  std::vector<double> child(a.size());
  for (size_t i = 0; i < a.size(); ++i) child[i] = UniformUnit(rng) < swapping_prob ? b[i] : a[i];
  return child;
}

std::vector<double> SbxCrossover(const std::vector<double>& a, const std::vector<double>& b, double eta,
                                 SplitMix64& rng) {
  // Deb & Agrawal (1995) with the bounds [0, 1] folded into the spread factor, as in Deb's NSGA-II code:
  //   β₁ = 1 + 2 (x_min − 0)/Δ, β₂ = 1 + 2 (1 − x_max)/Δ, α_k = 2 − β_k^{−(η+1)},
  //   β_q = (u α)^{1/(η+1)} if u ≤ 1/α, else (1 / (2 − u α))^{1/(η+1)},
  //   c₁ = ½ (x_min + x_max − β_q1 Δ), c₂ = ½ (x_min + x_max + β_q2 Δ);
  // each coordinate then takes c₁, c₂, or either parent's value with probability ¼ each.
  std::vector<double> child(a.size());
  const double exponent = 1.0 / (eta + 1.0);
  for (size_t i = 0; i < a.size(); ++i) {
    const double lo = std::min(a[i], b[i]), hi = std::max(a[i], b[i]);
    const double gap = std::max(hi - lo, kMinParentGap);
    const double beta1 = 1.0 + 2.0 * lo / gap, beta2 = 1.0 + 2.0 * (1.0 - hi) / gap;
    const double alpha1 = 2.0 - std::pow(beta1, -(eta + 1.0)), alpha2 = 2.0 - std::pow(beta2, -(eta + 1.0));
    const double u = UniformUnit(rng);
    auto spread = [&](double alpha) {
      return u <= 1.0 / alpha ? std::pow(u * alpha, exponent) : std::pow(1.0 / (2.0 - u * alpha), exponent);
    };
    const double c1 = 0.5 * (lo + hi - spread(alpha1) * gap);
    const double c2 = 0.5 * (lo + hi + spread(alpha2) * gap);
    const double pick = UniformUnit(rng);
    child[i] = pick < 0.25 ? c1 : pick < 0.5 ? c2 : pick < 0.75 ? a[i] : b[i];
  }
  return child;
}

std::vector<double> BlxAlphaCrossover(const std::vector<double>& a, const std::vector<double>& b, double alpha,
                                      SplitMix64& rng) {
  // Uniform on [x_min − α d, x_max + α d] with d = x_max − x_min  (Eshelman & Schaffer 1992).
  std::vector<double> child(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const double lo = std::min(a[i], b[i]), hi = std::max(a[i], b[i]);
    const double d = alpha * (hi - lo);
    child[i] = (lo - d) + UniformUnit(rng) * ((hi + d) - (lo - d));
  }
  return child;
}

}  // namespace dial::internal
