// Low-discrepancy sequences on [0, 1)^d, indexable: point n is computed directly from n, so trial number n can
// take it without generating the points before it. Used by the qmc sampler; independent of studies.
#pragma once

#include <cstdint>
#include <vector>

namespace dial::internal {

// Sobol' sequence in Gray-code order (as scipy.stats.qmc.Sobol and torch.quasirandom.SobolEngine draw it), with
// Joe & Kuo's direction numbers. Scrambled: Owen's nested uniform scrambling, each node's random flip a hash of
// (seed, dimension, depth, the digits above), so every point is available on its own; the 21 digits below the
// 32 computed ones are filled by the same tree, giving full double precision.
class SobolSequence {
 public:
  static constexpr int kMaxDims = 1024;
  static constexpr int kBits = 32;  // points 0 … 2^32 − 1 are distinct

  // 1 ≤ dims ≤ kMaxDims (asserted).
  SobolSequence(int dims, bool scramble, uint64_t seed);
  int dims() const { return dims_; }
  // The n-th point (n < 2^32; larger n wrap around).
  std::vector<double> Point(uint64_t n) const;

 private:
  int dims_;
  bool scramble_;
  uint64_t seed_;
  std::vector<std::vector<uint32_t>> direction_;  // direction_[j][k] = m_{k+1} · 2^(32 − k − 1)
};

// Halton sequence: coordinate j is the radical inverse of n in the j-th prime. Scrambled: digit position i of
// coordinate j goes through its own random permutation of {0, …, b − 1} (including the leading zeros of n,
// which makes the expansion infinite; it is cut where b^−i falls below double precision).
class HaltonSequence {
 public:
  static constexpr int kMaxDims = 1024;

  HaltonSequence(int dims, bool scramble, uint64_t seed);
  int dims() const { return static_cast<int>(bases_.size()); }
  std::vector<double> Point(uint64_t n) const;

 private:
  std::vector<uint32_t> bases_;
  // permutations_[j][i] is the permutation of digit position i (0 = the b^−1 digit) in coordinate j; empty
  // when not scrambled.
  std::vector<std::vector<std::vector<uint16_t>>> permutations_;
};

// The first n primes (2, 3, 5, …).
std::vector<uint32_t> FirstPrimes(int n);

// The centred L2 discrepancy of points in [0, 1]^d (Hickernell 1998), smaller is more uniform:
// CD² = (13/12)^d − (2/N) Σ_i Π_k (1 + ½|x_ik − ½| − ½|x_ik − ½|²)
//       + (1/N²) Σ_{i,j} Π_k (1 + ½|x_ik − ½| + ½|x_jk − ½| − ½|x_ik − x_jk|).
double CenteredL2Discrepancy(const std::vector<std::vector<double>>& points);

}  // namespace dial::internal
