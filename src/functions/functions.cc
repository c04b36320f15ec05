// The synthetic benchmark suite (shared/docs/benchmark-functions.md) and MF-Hartmann6. Every formula and
// constant follows the Virtual Library of Simulation Experiments (Surjanovic & Bingham) as BoTorch has it.
#include "dial/functions.h"

#include <array>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

namespace dial {
namespace {

constexpr double kPi = std::numbers::pi;

// ---- Branin (d = 2) ----
// f(x) = (x2 − b·x1² + c·x1 − r)² + s(1 − t)·cos x1 + s,  b = 5.1/(4π²), c = 5/π, r = 6, s = 10, t = 1/(8π).
double Branin(const std::vector<double>& x) {
  constexpr double kB = 5.1 / (4.0 * kPi * kPi);
  constexpr double kC = 5.0 / kPi;
  constexpr double kR = 6.0;
  constexpr double kS = 10.0;
  constexpr double kT = 1.0 / (8.0 * kPi);
  const double u = x[1] - kB * x[0] * x[0] + kC * x[0] - kR;
  return u * u + kS * (1.0 - kT) * std::cos(x[0]) + kS;
}

// ---- Hartmann (d = 3, 6) ----
// f(x) = −Σᵢ αᵢ exp(−Σⱼ Aᵢⱼ (xⱼ − Pᵢⱼ)²), P given ×10⁻⁴.
constexpr int kHartmannTerms = 4;
constexpr std::array<double, kHartmannTerms> kHartmannAlpha = {1.0, 1.2, 3.0, 3.2};
constexpr double kHartmannPScale = 1e-4;

constexpr double kA3[kHartmannTerms][3] = {{3, 10, 30}, {0.1, 10, 35}, {3, 10, 30}, {0.1, 10, 35}};
constexpr double kP3[kHartmannTerms][3] = {
    {3689, 1170, 2673}, {4699, 4387, 7470}, {1091, 8732, 5547}, {381, 5743, 8828}};
constexpr double kA6[kHartmannTerms][6] = {
    {10, 3, 17, 3.5, 1.7, 8}, {0.05, 10, 17, 0.1, 8, 14}, {3, 3.5, 1.7, 10, 17, 8}, {17, 8, 0.05, 10, 0.1, 14}};
constexpr double kP6[kHartmannTerms][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                           {2329, 4135, 8307, 3736, 1004, 9991},
                                           {2348, 1451, 3522, 2883, 3047, 6650},
                                           {4047, 8828, 8732, 5743, 1091, 381}};

// The inner exponential of term i: exp(−Σⱼ Aᵢⱼ (xⱼ − Pᵢⱼ)²).
template <int D>
double HartmannTerm(const double (&a)[kHartmannTerms][D], const double (&p)[kHartmannTerms][D], int i,
                    const std::vector<double>& x) {
  double inner = 0.0;
  for (int j = 0; j < D; ++j) {
    const double d = x[j] - p[i][j] * kHartmannPScale;
    inner += a[i][j] * d * d;
  }
  return std::exp(-inner);
}

double Hartmann3(const std::vector<double>& x) {
  double sum = 0.0;
  for (int i = 0; i < kHartmannTerms; ++i) sum += kHartmannAlpha[i] * HartmannTerm<3>(kA3, kP3, i, x);
  return -sum;
}

double Hartmann6(const std::vector<double>& x) {
  double sum = 0.0;
  for (int i = 0; i < kHartmannTerms; ++i) sum += kHartmannAlpha[i] * HartmannTerm<6>(kA6, kP6, i, x);
  return -sum;
}

// ---- Levy ----
// wᵢ = 1 + (xᵢ − 1)/4;
// f(x) = sin²(πw₁) + Σ_{i<d} (wᵢ − 1)²[1 + 10 sin²(πwᵢ + 1)] + (w_d − 1)²[1 + sin²(2πw_d)].
double Levy(const std::vector<double>& x) {
  const size_t d = x.size();
  auto w = [&](size_t i) { return 1.0 + (x[i] - 1.0) / 4.0; };
  const double s1 = std::sin(kPi * w(0));
  double sum = s1 * s1;
  for (size_t i = 0; i + 1 < d; ++i) {
    const double wi = w(i);
    const double s = std::sin(kPi * wi + 1.0);
    sum += (wi - 1.0) * (wi - 1.0) * (1.0 + 10.0 * s * s);
  }
  const double wd = w(d - 1);
  const double sd = std::sin(2.0 * kPi * wd);
  sum += (wd - 1.0) * (wd - 1.0) * (1.0 + sd * sd);
  return sum;
}

// ---- Ackley ----
// f(x) = −a exp(−b √(mean xᵢ²)) − exp(mean cos(c xᵢ)) + a + e,  a = 20, b = 0.2, c = 2π.
double Ackley(const std::vector<double>& x) {
  constexpr double kA = 20.0;
  constexpr double kB = 0.2;
  constexpr double kC = 2.0 * kPi;
  const double n = static_cast<double>(x.size());
  double sum_sq = 0.0;
  double sum_cos = 0.0;
  for (double xi : x) {
    sum_sq += xi * xi;
    sum_cos += std::cos(kC * xi);
  }
  return -kA * std::exp(-kB * std::sqrt(sum_sq / n)) - std::exp(sum_cos / n) + kA + std::numbers::e;
}

// ---- Rosenbrock ----
// f(x) = Σ_{i<d} 100(x_{i+1} − xᵢ²)² + (xᵢ − 1)².
double Rosenbrock(const std::vector<double>& x) {
  double sum = 0.0;
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    const double a = x[i + 1] - x[i] * x[i];
    const double b = x[i] - 1.0;
    sum += 100.0 * a * a + b * b;
  }
  return sum;
}

// ---- Styblinski-Tang ----
// f(x) = ½ Σ (xᵢ⁴ − 16xᵢ² + 5xᵢ); minimum at xᵢ = −2.903534… (the root of 4x³ − 32x + 5 = 0).
double StyblinskiTang(const std::vector<double>& x) {
  double sum = 0.0;
  for (double xi : x) {
    const double x2 = xi * xi;
    sum += x2 * x2 - 16.0 * x2 + 5.0 * xi;
  }
  return 0.5 * sum;
}
constexpr double kStyblinskiOptimumPerDim = -39.16616570377142;

// ---- Michalewicz ----
// f(x) = −Σᵢ sin(xᵢ)·sin(i·xᵢ²/π)^(2m), i counted from 1, m = 10.
double Michalewicz(const std::vector<double>& x) {
  constexpr int kSteepness = 10;  // m
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double s = std::sin(static_cast<double>(i + 1) * x[i] * x[i] / kPi);
    sum += std::sin(x[i]) * std::pow(s, 2 * kSteepness);
  }
  return -sum;
}
// The function is separable, so each optimum is the sum of per-coordinate minima, found by a fine grid
// search refined by golden-section. The doc quotes them rounded (−4.687658, −9.66015); these round to those.
constexpr double kMichalewicz5Optimum = -4.687658179088142;
constexpr double kMichalewicz10Optimum = -9.660151715641327;

// Refined numerically (Newton on the analytic gradient and Hessian from the usual minimiser): the often-quoted
// −3.86278214782076 lies slightly below the true minimum.
constexpr double kHartmann3Optimum = -3.862779787332663;
constexpr double kHartmann6Optimum = -3.32236801141551;
constexpr double kBraninOptimum = 0.397887357729739;

BenchmarkFunction Box(std::string name, int dim, double low, double high, double optimum,
                      double (*evaluate)(const std::vector<double>&)) {
  BenchmarkFunction f;
  f.name = std::move(name);
  f.dim = dim;
  f.lower.assign(dim, low);
  f.upper.assign(dim, high);
  f.optimum = optimum;
  f.evaluate = evaluate;
  return f;
}

std::vector<BenchmarkFunction> MakeSuite() {
  constexpr double kLevyBound = 10.0;
  constexpr double kAckleyBound = 32.768;
  constexpr double kRosenbrockLow = -5.0;
  constexpr double kRosenbrockHigh = 10.0;
  constexpr double kStyblinskiBound = 5.0;

  std::vector<BenchmarkFunction> suite;
  BenchmarkFunction branin = Box("branin2", 2, 0.0, 0.0, kBraninOptimum, &Branin);
  branin.lower = {-5.0, 0.0};
  branin.upper = {10.0, 15.0};
  suite.push_back(branin);
  suite.push_back(Box("hartmann3", 3, 0.0, 1.0, kHartmann3Optimum, &Hartmann3));
  suite.push_back(Box("hartmann6", 6, 0.0, 1.0, kHartmann6Optimum, &Hartmann6));
  suite.push_back(Box("levy5", 5, -kLevyBound, kLevyBound, 0.0, &Levy));
  suite.push_back(Box("ackley5", 5, -kAckleyBound, kAckleyBound, 0.0, &Ackley));
  suite.push_back(Box("rosenbrock5", 5, kRosenbrockLow, kRosenbrockHigh, 0.0, &Rosenbrock));
  suite.push_back(
      Box("styblinski5", 5, -kStyblinskiBound, kStyblinskiBound, 5 * kStyblinskiOptimumPerDim, &StyblinskiTang));
  suite.push_back(Box("levy10", 10, -kLevyBound, kLevyBound, 0.0, &Levy));
  suite.push_back(Box("ackley10", 10, -kAckleyBound, kAckleyBound, 0.0, &Ackley));
  suite.push_back(Box("rosenbrock10", 10, kRosenbrockLow, kRosenbrockHigh, 0.0, &Rosenbrock));
  suite.push_back(
      Box("styblinski10", 10, -kStyblinskiBound, kStyblinskiBound, 10 * kStyblinskiOptimumPerDim, &StyblinskiTang));
  suite.push_back(Box("michalewicz5", 5, 0.0, kPi, kMichalewicz5Optimum, &Michalewicz));
  suite.push_back(Box("michalewicz10", 10, 0.0, kPi, kMichalewicz10Optimum, &Michalewicz));
  return suite;
}

}  // namespace

const std::vector<BenchmarkFunction>& BenchmarkSuite() {
  static const std::vector<BenchmarkFunction> suite = MakeSuite();
  return suite;
}

Result<BenchmarkFunction> FindBenchmarkFunction(const std::string& name) {
  std::string known;
  for (const BenchmarkFunction& f : BenchmarkSuite()) {
    if (f.name == name) return f;
    known += known.empty() ? f.name : ", " + f.name;
  }
  return NotFound("unknown benchmark function '" + name + "' (known: " + known + ")");
}

double MfHartmann6(const std::vector<double>& x, double z, double bias) {
  const double s = std::log(z) / std::log(static_cast<double>(kMfHartmannMaxFidelity));
  double sum = 0.0;
  for (int i = 0; i < kHartmannTerms; ++i) {
    sum += (kHartmannAlpha[i] - bias * (1.0 - s)) * HartmannTerm<6>(kA6, kP6, i, x);
  }
  return -sum;
}

}  // namespace dial
