// Tests of the projected L-BFGS minimiser: Rosenbrock's valley, bounds that bind, and regions where f is undefined.
#include "samplers/gp/lbfgsb.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace dial::internal::gp {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// f(a, b) = 100 (b − a²)² + (1 − a)², minimum 0 at (1, 1).
double Rosenbrock(const Eigen::VectorXd& x, Eigen::VectorXd* g) {
  const double a = x[0], b = x[1];
  g->resize(2);
  (*g)[0] = -400.0 * a * (b - a * a) - 2.0 * (1.0 - a);
  (*g)[1] = 200.0 * (b - a * a);
  return 100.0 * (b - a * a) * (b - a * a) + (1.0 - a) * (1.0 - a);
}

TEST(LbfgsTest, RosenbrockReachesTheMinimum) {
  LbfgsOptions options;
  options.max_iterations = 200;
  options.gradient_tolerance = 1e-9;
  options.relative_tolerance = 0;
  const LbfgsResult r = MinimizeLbfgsB(Rosenbrock, Eigen::Vector2d(-1.2, 1.0), Eigen::Vector2d(-kInf, -kInf),
                                       Eigen::Vector2d(kInf, kInf), options);
  EXPECT_NEAR(r.x[0], 1.0, 1e-6);
  EXPECT_NEAR(r.x[1], 1.0, 1e-6);
  EXPECT_LT(r.value, 1e-12);
  EXPECT_TRUE(r.converged);
  EXPECT_LT(r.iterations, 200);
}

TEST(LbfgsTest, RosenbrockWithABindingBound) {
  // With a ≤ 0.5 the constrained minimum lies on the bound a = 0.5 at b = a² = 0.25.
  const LbfgsResult r =
      MinimizeLbfgsB(Rosenbrock, Eigen::Vector2d(-1.2, 1.0), Eigen::Vector2d(-2, -2), Eigen::Vector2d(0.5, 2), {});
  EXPECT_DOUBLE_EQ(r.x[0], 0.5);
  EXPECT_NEAR(r.x[1], 0.25, 1e-5);
  EXPECT_NEAR(r.value, 0.25, 1e-8);
}

TEST(LbfgsTest, QuadraticWithSeveralActiveBounds) {
  // f(x) = Σ (xᵢ − cᵢ)² with c partly outside [0, 1]: the solution is c clamped into the box.
  const Eigen::VectorXd c = (Eigen::VectorXd(4) << -0.5, 0.3, 1.7, 0.9).finished();
  auto f = [&](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    *g = 2.0 * (x - c);
    return (x - c).squaredNorm();
  };
  const LbfgsResult r =
      MinimizeLbfgsB(f, Eigen::VectorXd::Constant(4, 0.5), Eigen::VectorXd::Zero(4), Eigen::VectorXd::Ones(4), {});
  const Eigen::VectorXd expected = c.cwiseMax(0.0).cwiseMin(1.0);
  EXPECT_LT((r.x - expected).lpNorm<Eigen::Infinity>(), 1e-6);
}

TEST(LbfgsTest, StepsBackFromUndefinedRegions) {
  // f = (x − 3)² but undefined (+inf) beyond x = 2: the first steps overshoot; the result is near the edge.
  auto f = [](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    g->resize(1);
    (*g)[0] = 2.0 * (x[0] - 3.0);
    return x[0] > 2.0 ? kInf : (x[0] - 3.0) * (x[0] - 3.0);
  };
  const LbfgsResult r = MinimizeLbfgsB(f, Eigen::VectorXd::Constant(1, -5.0), Eigen::VectorXd::Constant(1, -kInf),
                                       Eigen::VectorXd::Constant(1, kInf), {});
  EXPECT_TRUE(std::isfinite(r.value));
  EXPECT_LE(r.x[0], 2.0);
  EXPECT_GT(r.x[0], 1.9);
}

}  // namespace
}  // namespace dial::internal::gp
