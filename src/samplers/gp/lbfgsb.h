// A small limited-memory BFGS minimiser with box bounds (projected L-BFGS), used by the GP sampler to fit kernel
// hyperparameters and to refine acquisition maxima. Written for smooth objectives of a few to a few dozen
// variables; not a general-purpose replacement for L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995).
#pragma once

#include <Eigen/Dense>
#include <functional>

namespace dial::internal::gp {

// f(x), writing ∇f(x) into *gradient (never null). May return +inf (or NaN) where f is undefined: the line search
// then steps back.
using ObjectiveWithGradient = std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd* gradient)>;

struct LbfgsOptions {
  int memory = 10;                    // (s, y) pairs kept for the inverse-Hessian estimate
  int max_iterations = 100;           // accepted steps
  int max_evaluations = 0;            // calls of f; 0: 4 × max_iterations + 20
  double gradient_tolerance = 1e-6;   // stop when max |projected gradient| falls below
  double relative_tolerance = 1e-10;  // stop when (f_prev − f) / max(|f_prev|, |f|, 1) falls below
};

struct LbfgsResult {
  Eigen::VectorXd x;
  double value = 0.0;
  int iterations = 0;
  int evaluations = 0;
  bool converged = false;  // a tolerance was met (not the iteration or evaluation cap)
};

// Minimises f over the box lower ≤ x ≤ upper (entries may be ±inf) from x0 (clamped into the box).
//
// Each iteration: the variables at a bound whose gradient points outwards are held fixed; the two-loop recursion
// (Nocedal & Wright, Algorithm 7.4) gives d = −H∇f on the free ones; the step follows the projected path
// x(α) = P(x + αd) with backtracking by safeguarded quadratic interpolation until the Armijo condition
// f(x(α)) ≤ f(x) + c₁ ∇fᵀ(x(α) − x) holds; the pair (s, y) is kept only when sᵀy > 0 (curvature), so H stays
// positive definite. Returns the best point seen.
LbfgsResult MinimizeLbfgsB(const ObjectiveWithGradient& f, const Eigen::VectorXd& x0, const Eigen::VectorXd& lower,
                           const Eigen::VectorXd& upper, const LbfgsOptions& options = {});

}  // namespace dial::internal::gp
