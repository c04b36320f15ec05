// Projected L-BFGS with backtracking; see lbfgsb.h.
#include "samplers/gp/lbfgsb.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace dial::internal::gp {
namespace {

constexpr double kArmijo = 1e-4;    // c₁ of the sufficient-decrease condition
constexpr int kMaxBacktracks = 30;  // halvings (or better) before the line search gives up
constexpr double kMinShrink = 0.1;  // interpolated step kept within [0.1 α, 0.5 α]
constexpr double kMaxShrink = 0.5;
constexpr double kCurvatureEpsilon = 1e-10;  // keep (s, y) only when sᵀy > ε ‖s‖ ‖y‖

bool AtLowerPushingOut(double x, double lower, double g) { return x <= lower && g > 0; }
bool AtUpperPushingOut(double x, double upper, double g) { return x >= upper && g < 0; }

// The gradient with the entries of variables held at a bound zeroed; its largest entry measures stationarity.
Eigen::VectorXd ProjectedGradient(const Eigen::VectorXd& x, const Eigen::VectorXd& g, const Eigen::VectorXd& lower,
                                  const Eigen::VectorXd& upper) {
  Eigen::VectorXd pg = g;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    if (AtLowerPushingOut(x[i], lower[i], g[i]) || AtUpperPushingOut(x[i], upper[i], g[i])) pg[i] = 0.0;
  }
  return pg;
}

Eigen::VectorXd Project(const Eigen::VectorXd& x, const Eigen::VectorXd& lower, const Eigen::VectorXd& upper) {
  return x.cwiseMax(lower).cwiseMin(upper);
}

}  // namespace

LbfgsResult MinimizeLbfgsB(const ObjectiveWithGradient& f, const Eigen::VectorXd& x0, const Eigen::VectorXd& lower,
                           const Eigen::VectorXd& upper, const LbfgsOptions& options) {
  const Eigen::Index n = x0.size();
  const int max_evaluations = options.max_evaluations > 0 ? options.max_evaluations : 4 * options.max_iterations + 20;
  LbfgsResult result;
  result.x = Project(x0, lower, upper);
  Eigen::VectorXd g(n);
  result.value = f(result.x, &g);
  result.evaluations = 1;
  if (!std::isfinite(result.value) || !g.allFinite()) return result;

  std::deque<Eigen::VectorXd> s_list, y_list;
  std::deque<double> rho_list;
  Eigen::VectorXd x = result.x;
  double fx = result.value;
  Eigen::VectorXd x_new(n), g_new(n);

  for (result.iterations = 0; result.iterations < options.max_iterations; ++result.iterations) {
    const Eigen::VectorXd pg = ProjectedGradient(x, g, lower, upper);
    if (pg.lpNorm<Eigen::Infinity>() <= options.gradient_tolerance) {
      result.converged = true;
      break;
    }
    // Two-loop recursion on the free variables: q ← ∇f; q −= a_i y_i; r = γ q; r += (a_i − b_i) s_i.
    Eigen::VectorXd q = pg;
    const size_t m = s_list.size();
    std::vector<double> a(m);
    for (size_t k = m; k-- > 0;) {
      a[k] = rho_list[k] * s_list[k].dot(q);
      q -= a[k] * y_list[k];
    }
    // γ = sᵀy / yᵀy scales the initial inverse Hessian (Nocedal & Wright eq. 7.20).
    const double gamma = m > 0 ? s_list.back().dot(y_list.back()) / y_list.back().squaredNorm() : 1.0;
    Eigen::VectorXd r = gamma * q;
    for (size_t k = 0; k < m; ++k) {
      const double b = rho_list[k] * y_list[k].dot(r);
      r += (a[k] - b) * s_list[k];
    }
    Eigen::VectorXd d = -r;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (pg[i] == 0.0) d[i] = 0.0;
    }
    if (!(d.dot(pg) < 0.0) || !d.allFinite()) {  // not a descent direction: restart from steepest descent
      s_list.clear(), y_list.clear(), rho_list.clear();
      d = -pg;
    }
    // The first step of a steepest-descent direction moves by at most 1 in the largest coordinate.
    double alpha = s_list.empty() ? std::min(1.0, 1.0 / d.lpNorm<Eigen::Infinity>()) : 1.0;

    bool accepted = false;
    double f_new = 0.0;
    for (int backtrack = 0; backtrack < kMaxBacktracks && result.evaluations < max_evaluations; ++backtrack) {
      x_new = Project(x + alpha * d, lower, upper);
      const Eigen::VectorXd step = x_new - x;
      if (step.lpNorm<Eigen::Infinity>() == 0.0) break;
      const double slope = g.dot(step);  // directional derivative along the projected step
      f_new = f(x_new, &g_new);
      ++result.evaluations;
      if (std::isfinite(f_new) && g_new.allFinite() && f_new <= fx + kArmijo * slope) {
        accepted = true;
        break;
      }
      // Minimiser of the quadratic through f(0), f'(0) = slope/α·α and f(α), kept within [0.1 α, 0.5 α].
      double next = kMaxShrink * alpha;
      if (std::isfinite(f_new)) {
        const double curvature = f_new - fx - slope;
        if (curvature > 0)
          next = std::clamp(-slope * alpha / (2.0 * curvature), kMinShrink * alpha, kMaxShrink * alpha);
      } else {
        next = kMinShrink * alpha;
      }
      alpha = next;
    }
    if (!accepted) break;  // no decrease along d: as good as this method gets

    Eigen::VectorXd s = x_new - x;
    Eigen::VectorXd y = g_new - g;
    const double sy = s.dot(y);
    if (sy > kCurvatureEpsilon * s.norm() * y.norm()) {
      s_list.push_back(std::move(s)), y_list.push_back(std::move(y)), rho_list.push_back(1.0 / sy);
      if (static_cast<int>(s_list.size()) > options.memory) {
        s_list.pop_front(), y_list.pop_front(), rho_list.pop_front();
      }
    }
    const double decrease = fx - f_new;
    x = x_new;
    g = g_new;
    fx = f_new;
    if (fx < result.value) result.x = x, result.value = fx;
    if (decrease <= options.relative_tolerance * std::max({std::fabs(fx), std::fabs(fx + decrease), 1.0})) {
      result.converged = true;
      ++result.iterations;
      break;
    }
    if (result.evaluations >= max_evaluations) break;
  }
  return result;
}

}  // namespace dial::internal::gp
