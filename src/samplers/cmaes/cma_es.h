// The CMA evolution strategy's state and update (Hansen, "The CMA Evolution Strategy: A Tutorial", 2016,
// arXiv:1604.00772; the default parameters of its Table 1 with negative recombination weights), with the
// termination criteria of its appendix B.3. Independent of studies: the cmaes sampler drives it.
// The interface uses plain vectors (row-major matrices) so callers need no linear-algebra headers.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/random.h"

namespace dial::internal {

// The strategy parameters that depend only on the dimension n and the population size λ (tutorial, Table 1).
struct CmaParameters {
  int dim = 0;
  int popsize = 0;              // λ
  int mu = 0;                   // μ = ⌊λ/2⌋ parents
  std::vector<double> weights;  // w_1 … w_λ: positive for the μ best, negative for the others
  double mu_eff = 0;            // (Σ_{i≤μ} w_i)² / Σ_{i≤μ} w_i²
  double c_sigma = 0;           // cumulation for step-size control
  double d_sigma = 0;           // step-size damping
  double c_c = 0;               // cumulation for the rank-one update
  double c_1 = 0;               // rank-one learning rate
  double c_mu = 0;              // rank-μ learning rate
  double chi_n = 0;             // E‖N(0, I)‖ ≈ √n (1 − 1/(4n) + 1/(21n²))

  static CmaParameters Default(int dim, int popsize);
  // λ = 4 + ⌊3 ln n⌋ (tutorial eq. 48).
  static int DefaultPopsize(int dim);
};

// Why a run should stop (and the sampler restart it).
enum class CmaStop {
  kNone,
  kTolFun,         // best and worst values of the last 10 + ⌈30n/λ⌉ generations within 1e-12
  kTolX,           // σ·√C_ii and σ·p_c,i below 1e-12·σ0 in every coordinate
  kTolUpSigma,     // σ·max √eig(C) grew past 1e4: diverging
  kNoEffectAxis,   // adding 0.1σ along a principal axis leaves the mean unchanged
  kNoEffectCoord,  // adding 0.2σ√C_ii to a coordinate leaves the mean unchanged
  kConditionCov,   // condition number of C above 1e14
  kNoImprovement,  // the run's best improved by less than 1e-6·|best| in the last 10 + ⌈30n/λ⌉ generations
};
std::string CmaStopName(CmaStop stop);

class CmaEs {
 public:
  // A run started at `mean` with step size `sigma` and C = I.
  CmaEs(std::vector<double> mean, double sigma, int popsize);

  const CmaParameters& parameters() const { return params_; }
  int dim() const { return params_.dim; }
  int popsize() const { return params_.popsize; }
  int generation() const { return generation_; }  // updates done
  const std::vector<double>& mean() const { return mean_; }
  double sigma() const { return sigma_; }
  const std::vector<double>& covariance() const { return cov_; }  // n × n, row-major
  const std::vector<double>& p_sigma() const { return p_sigma_; }
  const std::vector<double>& p_c() const { return p_c_; }
  double best_value() const { return best_value_; }

  // x = m + σ B D z for z ~ N(0, I): a candidate from N(m, σ² C), where C = B D² Bᵀ.
  std::vector<double> Sample(const std::vector<double>& z) const;

  // One generation: exactly λ (x, f) pairs, smaller f better (f may be ±inf). Updates m, σ, p_σ, p_c and C
  // (tutorial eqs. 39–47) and the histories the stopping criteria read.
  void Tell(std::vector<std::pair<std::vector<double>, double>> solutions);

  // The first criterion that holds, or kNone.
  CmaStop ShouldStop() const;

 private:
  void Decompose();  // B, D from C (and C made exactly symmetric and positive semi-definite)

  CmaParameters params_;
  std::vector<double> mean_;
  double sigma_;
  double tol_x_;                // 1e-12 σ0
  std::vector<double> cov_;     // C
  std::vector<double> basis_;   // B: eigenvectors of C as columns, row-major
  std::vector<double> scales_;  // D: square roots of C's eigenvalues
  std::vector<double> p_sigma_;
  std::vector<double> p_c_;
  int generation_ = 0;
  // Best and worst value of each of the last history_length_ generations (a ring), for TolFun.
  int history_length_;
  std::vector<std::pair<double, double>> value_history_;
  double best_value_;
  std::vector<double> best_history_;  // best_history_[g]: the run's best value after g + 1 updates
};

// n standard normal draws (Box–Muller), the same on every platform (std::normal_distribution is not).
std::vector<double> StandardNormals(SplitMix64& rng, int n);

}  // namespace dial::internal
