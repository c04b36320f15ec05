// Built-in objective functions for examples, tests and benchmarks: the synthetic suite of
// shared/docs/benchmark-functions.md (all minimised, with their known optima) and the multi-fidelity
// MF-Hartmann6 learning curve. Formulas follow the Virtual Library of Simulation Experiments.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dial/status.h"

namespace dial {

struct BenchmarkFunction {
  std::string name;  // "branin2", "hartmann6", "levy10", ...
  int dim = 0;
  std::vector<double> lower;  // per-coordinate domain
  std::vector<double> upper;
  double optimum = 0.0;  // f* (minimum value)
  double (*evaluate)(const std::vector<double>& x) = nullptr;
};

// The 13 problems in the suite's order: branin2, hartmann3, hartmann6, levy5, ackley5, rosenbrock5,
// styblinski5, levy10, ackley10, rosenbrock10, styblinski10, michalewicz5, michalewicz10.
const std::vector<BenchmarkFunction>& BenchmarkSuite();
// NotFound naming the function and listing the known ones.
Result<BenchmarkFunction> FindBenchmarkFunction(const std::string& name);

// MF-Hartmann6 at fidelity z ∈ [1, 100]: s = ln z / ln 100,
// f(x, z) = −Σᵢ (αᵢ − bias·(1 − s)) exp(−Σⱼ A6ᵢⱼ (xⱼ − P6ᵢⱼ)²). At z = 100 it is Hartmann6.
double MfHartmann6(const std::vector<double>& x, double z, double bias = 2.5);
inline constexpr int kMfHartmannMaxFidelity = 100;

}  // namespace dial
