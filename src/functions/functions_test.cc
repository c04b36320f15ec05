// Tests of the built-in benchmark functions: optima at the known minimisers, hand-checked values elsewhere,
// domains, and MF-Hartmann6 against Hartmann6.
#include "dial/functions.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numbers>
#include <string>

namespace dial {
namespace {

constexpr double kOptimumTolerance = 1e-6;
constexpr double kValueTolerance = 1e-9;

const BenchmarkFunction& Get(const std::string& name) {
  static std::map<std::string, BenchmarkFunction> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    auto f = FindBenchmarkFunction(name);
    EXPECT_TRUE(f.ok()) << name;
    it = cache.emplace(name, *f).first;
  }
  return it->second;
}

double Eval(const std::string& name, const std::vector<double>& x) {
  const BenchmarkFunction& f = Get(name);
  EXPECT_EQ(static_cast<int>(x.size()), f.dim) << name;
  return f.evaluate(x);
}

TEST(FunctionsTest, SuiteHasThirteenProblemsInOrder) {
  const std::vector<std::string> expected = {"branin2",      "hartmann3",    "hartmann6",    "levy5",    "ackley5",
                                             "rosenbrock5",  "styblinski5",  "levy10",       "ackley10", "rosenbrock10",
                                             "styblinski10", "michalewicz5", "michalewicz10"};
  const auto& suite = BenchmarkSuite();
  ASSERT_EQ(suite.size(), expected.size());
  for (size_t i = 0; i < suite.size(); ++i) {
    EXPECT_EQ(suite[i].name, expected[i]);
    EXPECT_EQ(static_cast<int>(suite[i].lower.size()), suite[i].dim);
    EXPECT_EQ(static_cast<int>(suite[i].upper.size()), suite[i].dim);
    EXPECT_NE(suite[i].evaluate, nullptr);
  }
}

TEST(FunctionsTest, DomainsAndDimensions) {
  struct Expect {
    std::string name;
    int dim;
    double low, high;
  };
  const std::vector<Expect> cases = {
      {"hartmann3", 3, 0, 1},
      {"hartmann6", 6, 0, 1},
      {"levy5", 5, -10, 10},
      {"levy10", 10, -10, 10},
      {"ackley5", 5, -32.768, 32.768},
      {"ackley10", 10, -32.768, 32.768},
      {"rosenbrock5", 5, -5, 10},
      {"rosenbrock10", 10, -5, 10},
      {"styblinski5", 5, -5, 5},
      {"styblinski10", 10, -5, 5},
      {"michalewicz5", 5, 0, std::numbers::pi},
      {"michalewicz10", 10, 0, std::numbers::pi},
  };
  for (const auto& c : cases) {
    const BenchmarkFunction& f = Get(c.name);
    EXPECT_EQ(f.dim, c.dim) << c.name;
    for (int j = 0; j < f.dim; ++j) {
      EXPECT_DOUBLE_EQ(f.lower[j], c.low) << c.name;
      EXPECT_DOUBLE_EQ(f.upper[j], c.high) << c.name;
    }
  }
  const BenchmarkFunction& branin = Get("branin2");
  EXPECT_EQ(branin.dim, 2);
  EXPECT_EQ(branin.lower, (std::vector<double>{-5, 0}));
  EXPECT_EQ(branin.upper, (std::vector<double>{10, 15}));
}

TEST(FunctionsTest, UnknownNameIsNotFoundAndListsKnownOnes) {
  auto f = FindBenchmarkFunction("hartman6");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("hartman6"), std::string::npos);
  EXPECT_NE(f.status().message().find("hartmann6"), std::string::npos);
}

TEST(FunctionsTest, BraninOptimaAtItsThreeMinimisers) {
  const double pi = std::numbers::pi;
  const double fstar = Get("branin2").optimum;
  EXPECT_NEAR(fstar, 0.397887357729739, 1e-15);
  EXPECT_NEAR(Eval("branin2", {-pi, 12.275}), fstar, kOptimumTolerance);
  EXPECT_NEAR(Eval("branin2", {pi, 2.275}), fstar, kOptimumTolerance);
  EXPECT_NEAR(Eval("branin2", {3 * pi, 2.475}), fstar, kOptimumTolerance);
  // At the origin: (−6)² + 10(1 − 1/(8π))·cos 0 + 10 = 56 − 10/(8π).
  EXPECT_NEAR(Eval("branin2", {0, 0}), 56.0 - 10.0 / (8.0 * pi), kValueTolerance);
}

TEST(FunctionsTest, HartmannOptima) {
  // Minimisers refined by Newton's method from the usually quoted ones (to a gradient of ~1e-15).
  const std::vector<double> x3 = {0.11458887665506896, 0.5556488946169301, 0.8525469846866774};
  EXPECT_NEAR(Get("hartmann3").optimum, -3.862779787, 1e-9);
  EXPECT_NEAR(Eval("hartmann3", x3), Get("hartmann3").optimum, kOptimumTolerance);
  const std::vector<double> x6 = {0.20168951100670543, 0.15001069182345797, 0.47687397422189703,
                                  0.2753324304940561,  0.31165161660011326, 0.6573005340656204};
  EXPECT_NEAR(Get("hartmann6").optimum, -3.32236801141551, 1e-14);
  EXPECT_NEAR(Eval("hartmann6", x6), Get("hartmann6").optimum, kOptimumTolerance);
  // No point of a coarse grid beats the optimum (it is a minimum, not just a stationary point).
  for (double a = 0; a <= 1; a += 0.1) {
    for (double b = 0; b <= 1; b += 0.1) {
      for (double c = 0; c <= 1; c += 0.1) {
        EXPECT_GE(Eval("hartmann3", {a, b, c}), Get("hartmann3").optimum);
      }
    }
  }
  // At the centre, computed independently with NumPy from the same constants.
  EXPECT_NEAR(Eval("hartmann3", {0.5, 0.5, 0.5}), -0.6280220150705937, kValueTolerance);
  EXPECT_NEAR(Eval("hartmann6", std::vector<double>(6, 0.5)), -0.5053149917022333, kValueTolerance);
}

TEST(FunctionsTest, LevyOptimaAndAnotherPoint) {
  for (const char* name : {"levy5", "levy10"}) {
    const BenchmarkFunction& f = Get(name);
    EXPECT_EQ(f.optimum, 0.0);
    EXPECT_NEAR(f.evaluate(std::vector<double>(f.dim, 1.0)), 0.0, kOptimumTolerance) << name;
  }
  // At x = 0 every wᵢ = 0.75 (NumPy reference values).
  EXPECT_NEAR(Eval("levy5", std::vector<double>(5, 0.0)), 0.988378216467898, kValueTolerance);
  EXPECT_NEAR(Eval("levy10", std::vector<double>(10, 0.0)), 1.4426009870527703, kValueTolerance);
}

TEST(FunctionsTest, AckleyOptimaAndAnotherPoint) {
  for (const char* name : {"ackley5", "ackley10"}) {
    const BenchmarkFunction& f = Get(name);
    EXPECT_EQ(f.optimum, 0.0);
    EXPECT_NEAR(f.evaluate(std::vector<double>(f.dim, 0.0)), 0.0, kOptimumTolerance) << name;
    // At x = 1: mean xᵢ² = 1 and cos 2π = 1, so f = −20e^(−0.2) − e + 20 + e = 20(1 − e^(−0.2)).
    EXPECT_NEAR(f.evaluate(std::vector<double>(f.dim, 1.0)), 20.0 * (1.0 - std::exp(-0.2)), kValueTolerance);
  }
}

TEST(FunctionsTest, RosenbrockOptimaAndAnotherPoint) {
  for (const char* name : {"rosenbrock5", "rosenbrock10"}) {
    const BenchmarkFunction& f = Get(name);
    EXPECT_EQ(f.optimum, 0.0);
    EXPECT_NEAR(f.evaluate(std::vector<double>(f.dim, 1.0)), 0.0, kOptimumTolerance) << name;
    // At x = 0 each of the d − 1 terms is 100·0 + 1.
    EXPECT_NEAR(f.evaluate(std::vector<double>(f.dim, 0.0)), f.dim - 1.0, kValueTolerance) << name;
  }
  // i=1: 100(2 − 1)² + 0; i=2: 100(0 − 4)² + (2 − 1)²; i=3, i=4: 0 + (0 − 1)². Total 100 + 1601 + 1 + 1.
  EXPECT_NEAR(Eval("rosenbrock5", {1, 2, 0, 0, 0}), 1703.0, kValueTolerance);
}

TEST(FunctionsTest, StyblinskiTangOptimaAndAnotherPoint) {
  // The minimiser is the negative root of 4x³ − 32x + 5 = 0; find it by Newton's method.
  double root = -2.9;
  for (int i = 0; i < 50; ++i) root -= (4 * root * root * root - 32 * root + 5) / (12 * root * root - 32);
  EXPECT_NEAR(root, -2.903534, 1e-6);
  for (int d : {5, 10}) {
    const BenchmarkFunction& f = Get("styblinski" + std::to_string(d));
    EXPECT_NEAR(f.optimum, -39.16616570377142 * d, 1e-10);
    EXPECT_NEAR(f.evaluate(std::vector<double>(d, root)), f.optimum, kOptimumTolerance);
    // At x = 1: ½(1 − 16 + 5) = −5 per coordinate.
    EXPECT_NEAR(f.evaluate(std::vector<double>(d, 1.0)), -5.0 * d, kValueTolerance);
  }
}

TEST(FunctionsTest, MichalewiczOptimaAndAnotherPoint) {
  // Separable: each coordinate's minimiser of −sin(x)·sin(i·x²/π)^20, found by grid + golden section.
  const std::vector<double> minimiser = {2.2029055180397803, 1.570796327605073,  1.2849915739834583, 1.9230584687719396,
                                         1.7204697722279927, 1.5707963267350862, 1.4544139717028295, 1.7560865224049622,
                                         1.6557174173058145, 1.5707963275694006};
  const BenchmarkFunction& f5 = Get("michalewicz5");
  const BenchmarkFunction& f10 = Get("michalewicz10");
  EXPECT_NEAR(f5.optimum, -4.687658, 5e-7);  // the doc's rounded figures
  EXPECT_NEAR(f10.optimum, -9.66015, 5e-6);
  EXPECT_NEAR(f5.evaluate({minimiser.begin(), minimiser.begin() + 5}), f5.optimum, kOptimumTolerance);
  EXPECT_NEAR(f10.evaluate(minimiser), f10.optimum, kOptimumTolerance);
  // At x = π/2: sin(π/2) = 1 and sin(i·π/4)^20 is 2^−10 for odd i, 1 for i = 2 and 0 for i = 4:
  // −(2^−10 + 1 + 2^−10 + 0 + 2^−10).
  EXPECT_NEAR(Eval("michalewicz5", std::vector<double>(5, std::numbers::pi / 2)), -(1.0 + 3.0 / 1024.0),
              kValueTolerance);
}

TEST(FunctionsTest, NoSuiteFunctionGoesBelowItsOptimumOnRandomPoints) {
  uint64_t state = 12345;
  auto next = [&] {  // a tiny LCG: enough to spread points over the box
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) * 0x1.0p-53;
  };
  for (const BenchmarkFunction& f : BenchmarkSuite()) {
    for (int n = 0; n < 500; ++n) {
      std::vector<double> x(f.dim);
      for (int j = 0; j < f.dim; ++j) x[j] = f.lower[j] + next() * (f.upper[j] - f.lower[j]);
      EXPECT_GE(f.evaluate(x), f.optimum - kOptimumTolerance) << f.name;
    }
  }
}

TEST(FunctionsTest, MfHartmann6) {
  const auto& h6 = Get("hartmann6");
  const std::vector<std::vector<double>> points = {
      std::vector<double>(6, 0.5), {0.2, 0.15, 0.48, 0.28, 0.31, 0.66}, {0.9, 0.1, 0.3, 0.7, 0.05, 0.4}};
  for (const auto& x : points) {
    EXPECT_NEAR(MfHartmann6(x, kMfHartmannMaxFidelity), h6.evaluate(x), 1e-12);
    EXPECT_NEAR(MfHartmann6(x, kMfHartmannMaxFidelity, 0.5), h6.evaluate(x), 1e-12);
  }
  // At z = 10, s = ½: αᵢ − 1.25 (NumPy reference); at z = 1, s = 0: αᵢ − 2.5.
  const std::vector<double> centre(6, 0.5);
  EXPECT_NEAR(MfHartmann6(centre, 10), -0.2452495585814006, kValueTolerance);
  EXPECT_NEAR(MfHartmann6(centre, 1), 0.014815874539431981, kValueTolerance);
  // With no bias every fidelity is Hartmann6.
  EXPECT_NEAR(MfHartmann6(centre, 3, 0.0), h6.evaluate(centre), 1e-12);
}

}  // namespace
}  // namespace dial
