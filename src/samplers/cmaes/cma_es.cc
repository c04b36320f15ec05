// CMA-ES state and update; see cma_es.h. Equation numbers refer to Hansen's tutorial (arXiv:1604.00772).
#include "samplers/cmaes/cma_es.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numbers>

namespace dial::internal {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;
using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;
using VectorMap = Eigen::Map<Vector>;
using ConstVectorMap = Eigen::Map<const Vector>;

constexpr double kAlphaCov = 2.0;             // α_cov in c_1 and c_μ (Table 1)
constexpr double kTolFun = 1e-12;             // TolFun (appendix B.3)
constexpr double kTolXFactor = 1e-12;         // TolX = 1e-12 σ0
constexpr double kTolUpSigma = 1e4;           // σ·max(D) beyond this: diverging
constexpr double kMaxConditionNumber = 1e14;  // ConditionCov: cond(C) = (max D / min D)² beyond this
constexpr double kNoEffectAxisShift = 0.1;    // NoEffectAxis: 0.1 σ D_i b_i
constexpr double kNoEffectCoordShift = 0.2;   // NoEffectCoord: 0.2 σ √C_ii
constexpr double kMinEigenvalue = 1e-8;       // a negative eigenvalue of C (rounding) is replaced by this
constexpr double kMaxSigma = 1e32;
constexpr double kMinRelativeImprovement = 1e-6;  // NoImprovement: gain below this share of |best|
constexpr double kMinImprovement = 1e-12;         // … or below this, for a best value near 0
constexpr double kHSigmaThreshold = 1.4;  // h_σ: ‖p_σ‖/√(1 − (1 − c_σ)^{2(g+1)}) < (1.4 + 2/(n+1)) E‖N‖

}  // namespace

int CmaParameters::DefaultPopsize(int dim) {
  return 4 + static_cast<int>(std::floor(3.0 * std::log(static_cast<double>(dim))));  // eq. 48
}

CmaParameters CmaParameters::Default(int dim, int popsize) {
  assert(dim >= 1 && popsize >= 2);
  CmaParameters p;
  const double n = dim;
  p.dim = dim;
  p.popsize = popsize;
  p.mu = popsize / 2;
  // w'_i = ln((λ + 1)/2) − ln i  (eq. 49)
  std::vector<double> raw(popsize);
  for (int i = 0; i < popsize; ++i) raw[i] = std::log((popsize + 1) / 2.0) - std::log(i + 1.0);
  double pos_sum = 0, pos_sq = 0, neg_sum = 0, neg_sq = 0;
  for (int i = 0; i < popsize; ++i) {
    if (i < p.mu) {
      pos_sum += raw[i], pos_sq += raw[i] * raw[i];
    } else {
      neg_sum += raw[i], neg_sq += raw[i] * raw[i];
    }
  }
  p.mu_eff = pos_sum * pos_sum / pos_sq;
  const double mu_eff_minus = neg_sq > 0 ? neg_sum * neg_sum / neg_sq : 0.0;
  p.c_1 = kAlphaCov / ((n + 1.3) * (n + 1.3) + p.mu_eff);  // eq. 57
  // c_μ = min(1 − c_1, α_cov (μ_eff − 2 + 1/μ_eff) / ((n + 2)² + α_cov μ_eff / 2))  (eq. 58)
  p.c_mu = std::min(1.0 - p.c_1 - 1e-8,
                    kAlphaCov * (p.mu_eff - 2.0 + 1.0 / p.mu_eff) / ((n + 2) * (n + 2) + kAlphaCov * p.mu_eff / 2));
  // Negative weights are scaled by min(α_μ⁻, α_μeff⁻, α_posdef⁻)  (eqs. 50–53).
  double alpha_min = 1.0 + 2.0 * mu_eff_minus / (p.mu_eff + 2.0);
  if (p.c_mu > 0) {
    alpha_min = std::min({alpha_min, 1.0 + p.c_1 / p.c_mu, (1.0 - p.c_1 - p.c_mu) / (n * p.c_mu)});
  }
  double positive = 0, negative = 0;
  for (double w : raw) (w >= 0 ? positive : negative) += std::abs(w);
  p.weights.resize(popsize);
  for (int i = 0; i < popsize; ++i) {
    p.weights[i] = raw[i] >= 0 ? raw[i] / positive : alpha_min * raw[i] / negative;
  }
  p.c_sigma = (p.mu_eff + 2) / (n + p.mu_eff + 5);                                         // eq. 55
  p.d_sigma = 1 + 2 * std::max(0.0, std::sqrt((p.mu_eff - 1) / (n + 1)) - 1) + p.c_sigma;  // eq. 55
  p.c_c = (4 + p.mu_eff / n) / (n + 4 + 2 * p.mu_eff / n);                                 // eq. 56
  p.chi_n = std::sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));
  return p;
}

std::string CmaStopName(CmaStop stop) {
  switch (stop) {
    case CmaStop::kNone:
      return "none";
    case CmaStop::kTolFun:
      return "tolfun";
    case CmaStop::kTolX:
      return "tolx";
    case CmaStop::kTolUpSigma:
      return "tolupsigma";
    case CmaStop::kNoEffectAxis:
      return "noeffectaxis";
    case CmaStop::kNoEffectCoord:
      return "noeffectcoord";
    case CmaStop::kConditionCov:
      return "conditioncov";
    case CmaStop::kNoImprovement:
      return "noimprovement";
  }
  return "unknown";
}

CmaEs::CmaEs(std::vector<double> mean, double sigma, int popsize)
    : params_(CmaParameters::Default(static_cast<int>(mean.size()), popsize)),
      mean_(std::move(mean)),
      sigma_(sigma),
      tol_x_(kTolXFactor * sigma),
      best_value_(std::numeric_limits<double>::infinity()) {
  const int n = params_.dim;
  cov_.assign(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) cov_[static_cast<size_t>(i) * n + i] = 1.0;
  p_sigma_.assign(n, 0.0);
  p_c_.assign(n, 0.0);
  history_length_ = 10 + static_cast<int>(std::ceil(30.0 * n / popsize));
  Decompose();
}

void CmaEs::Decompose() {
  const int n = params_.dim;
  MatrixMap c(cov_.data(), n, n);
  Matrix sym = (c + c.transpose()) / 2;
  Eigen::SelfAdjointEigenSolver<Matrix> eig(sym);
  Vector d2 = eig.eigenvalues();
  for (int i = 0; i < n; ++i) {
    if (!(d2[i] > 0)) d2[i] = kMinEigenvalue;
  }
  const Matrix& b = eig.eigenvectors();
  c = b * d2.asDiagonal() * b.transpose();  // C = B D² Bᵀ, exactly symmetric
  basis_.resize(static_cast<size_t>(n) * n);
  MatrixMap(basis_.data(), n, n) = b;
  scales_.resize(n);
  for (int i = 0; i < n; ++i) scales_[i] = std::sqrt(d2[i]);
}

std::vector<double> CmaEs::Sample(const std::vector<double>& z) const {
  const int n = params_.dim;
  ConstMatrixMap b(basis_.data(), n, n);
  ConstVectorMap d(scales_.data(), n);
  ConstVectorMap zz(z.data(), n);
  Vector x = ConstVectorMap(mean_.data(), n) + sigma_ * (b * d.cwiseProduct(zz));  // x = m + σ B D z
  return std::vector<double>(x.data(), x.data() + n);
}

void CmaEs::Tell(std::vector<std::pair<std::vector<double>, double>> solutions) {
  const int n = params_.dim;
  const int lambda = params_.popsize;
  assert(static_cast<int>(solutions.size()) == lambda);
  std::stable_sort(solutions.begin(), solutions.end(),
                   [](const auto& a, const auto& b) { return a.second < b.second; });

  // Histories for the stopping criteria.
  const double gen_best = solutions.front().second, gen_worst = solutions.back().second;
  if (static_cast<int>(value_history_.size()) < history_length_) {
    value_history_.push_back({gen_best, gen_worst});
  } else {
    value_history_[generation_ % history_length_] = {gen_best, gen_worst};
  }
  best_value_ = std::min(best_value_, gen_best);
  best_history_.push_back(best_value_);

  ConstMatrixMap b(basis_.data(), n, n);
  ConstVectorMap d(scales_.data(), n);
  VectorMap mean(mean_.data(), n);
  // y_i = (x_i − m) / σ ~ N(0, C)
  Matrix y(lambda, n);
  for (int i = 0; i < lambda; ++i) y.row(i) = (ConstVectorMap(solutions[i].first.data(), n) - mean) / sigma_;
  // y_w = Σ_{i≤μ} w_i y_{i:λ}  (eq. 41); m ← m + c_m σ y_w with c_m = 1  (eq. 42)
  Vector y_w = Vector::Zero(n);
  for (int i = 0; i < params_.mu; ++i) y_w += params_.weights[i] * y.row(i).transpose();
  mean += sigma_ * y_w;

  // C^{−1/2} = B D^{−1} Bᵀ
  const Matrix inv_sqrt_c = b * d.cwiseInverse().asDiagonal() * b.transpose();
  const double cs = params_.c_sigma;
  // p_σ ← (1 − c_σ) p_σ + √(c_σ (2 − c_σ) μ_eff) C^{−1/2} y_w  (eq. 43)
  VectorMap p_sigma(p_sigma_.data(), n);
  p_sigma = (1 - cs) * p_sigma + std::sqrt(cs * (2 - cs) * params_.mu_eff) * (inv_sqrt_c * y_w);
  const double norm_p_sigma = p_sigma.norm();
  // σ ← σ exp((c_σ / d_σ)(‖p_σ‖ / E‖N(0, I)‖ − 1))  (eq. 44)
  sigma_ *= std::exp((cs / params_.d_sigma) * (norm_p_sigma / params_.chi_n - 1));
  sigma_ = std::min(sigma_, kMaxSigma);

  // h_σ stalls p_c when ‖p_σ‖ is large, i.e. when σ is growing fast (p. 28).
  const double correction = std::sqrt(1 - std::pow(1 - cs, 2.0 * (generation_ + 1)));
  const double h_sigma = norm_p_sigma / correction < (kHSigmaThreshold + 2.0 / (n + 1)) * params_.chi_n ? 1.0 : 0.0;
  const double cc = params_.c_c;
  // p_c ← (1 − c_c) p_c + h_σ √(c_c (2 − c_c) μ_eff) y_w  (eq. 45)
  VectorMap p_c(p_c_.data(), n);
  p_c = (1 - cc) * p_c + h_sigma * std::sqrt(cc * (2 - cc) * params_.mu_eff) * y_w;

  // w°_i = w_i for w_i ≥ 0, else w_i · n / ‖C^{−1/2} y_i‖²  (eq. 46)
  Matrix rank_mu = Matrix::Zero(n, n);
  double weight_sum = 0;
  for (int i = 0; i < lambda; ++i) {
    double w = params_.weights[i];
    weight_sum += w;
    const Vector yi = y.row(i).transpose();
    if (w < 0) w *= n / ((inv_sqrt_c * yi).squaredNorm() + kMinEigenvalue);
    rank_mu += w * yi * yi.transpose();
  }
  // δ(h_σ) = (1 − h_σ) c_c (2 − c_c)
  const double delta_h = (1 - h_sigma) * cc * (2 - cc);
  // C ← (1 + c_1 δ(h_σ) − c_1 − c_μ Σ w_j) C + c_1 p_c p_cᵀ + c_μ Σ w°_i y_i y_iᵀ  (eq. 47)
  MatrixMap c(cov_.data(), n, n);
  c = (1 + params_.c_1 * delta_h - params_.c_1 - params_.c_mu * weight_sum) * c + params_.c_1 * p_c * p_c.transpose() +
      params_.c_mu * rank_mu;
  ++generation_;
  Decompose();
}

CmaStop CmaEs::ShouldStop() const {
  const int n = params_.dim;
  ConstMatrixMap c(cov_.data(), n, n);
  ConstVectorMap mean(mean_.data(), n);
  // TolFun: all best and worst values of the last 10 + ⌈30n/λ⌉ generations within kTolFun of each other.
  if (static_cast<int>(value_history_.size()) >= history_length_) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& [best, worst] : value_history_) lo = std::min(lo, best), hi = std::max(hi, worst);
    if (hi - lo < kTolFun) return CmaStop::kTolFun;
  }
  // TolX: the distribution and the evolution path are both negligible in every coordinate.
  bool tiny = true;
  for (int i = 0; i < n && tiny; ++i) {
    tiny = sigma_ * std::sqrt(c(i, i)) < tol_x_ && std::abs(sigma_ * p_c_[i]) < tol_x_;
  }
  if (tiny) return CmaStop::kTolX;
  const double max_d = *std::max_element(scales_.begin(), scales_.end());
  const double min_d = *std::min_element(scales_.begin(), scales_.end());
  if (sigma_ * max_d > kTolUpSigma) return CmaStop::kTolUpSigma;
  // NoEffectCoord: a 0.2-standard-deviation step in some coordinate does not change the mean.
  for (int i = 0; i < n; ++i) {
    if (mean_[i] == mean_[i] + kNoEffectCoordShift * sigma_ * std::sqrt(c(i, i))) return CmaStop::kNoEffectCoord;
  }
  // NoEffectAxis: a 0.1-standard-deviation step along principal axis (g mod n) does not change the mean.
  const int axis = generation_ % n;
  bool no_effect = true;
  for (int i = 0; i < n && no_effect; ++i) {
    const double shift = kNoEffectAxisShift * sigma_ * scales_[axis] * basis_[static_cast<size_t>(i) * n + axis];
    no_effect = mean_[i] == mean_[i] + shift;
  }
  if (no_effect) return CmaStop::kNoEffectAxis;
  // ConditionCov: cond(C) = (max D / min D)² above 1e14.
  if ((max_d / min_d) * (max_d / min_d) > kMaxConditionNumber) return CmaStop::kConditionCov;
  // NoImprovement, scaled for tuning: over the last 10 + ⌈30n/λ⌉ generations the best value improved by less than
  // 1e-6 of its size. Hansen's TolFun (above) and TolX wait for 1e-12, which a run stuck in a local optimum
  // takes about twice as many evaluations to reach; no tuning objective is measured that finely.
  if (generation_ > history_length_) {
    const double before = best_history_[generation_ - 1 - history_length_];
    const double gain = before - best_value_;
    if (gain < std::max(kMinRelativeImprovement * std::abs(best_value_), kMinImprovement)) {
      return CmaStop::kNoImprovement;
    }
  }
  return CmaStop::kNone;
}

std::vector<double> StandardNormals(SplitMix64& rng, int n) {
  std::vector<double> z(n);
  for (int i = 0; i < n; i += 2) {
    // z₁, z₂ = √(−2 ln u₁) (cos 2πu₂, sin 2πu₂) with u₁ ∈ (0, 1]
    const double u1 = 1.0 - UniformUnit(rng);
    const double u2 = UniformUnit(rng);
    const double r = std::sqrt(-2.0 * std::log(u1));
    z[i] = r * std::cos(2 * std::numbers::pi * u2);
    if (i + 1 < n) z[i + 1] = r * std::sin(2 * std::numbers::pi * u2);
  }
  return z;
}

}  // namespace dial::internal
