// Sobol' and Halton sequences, plain and scrambled; see low_discrepancy.h.
#include "samplers/qmc/low_discrepancy.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

#include "util/random.h"

namespace dial::internal {
namespace {

// Joe & Kuo's initialisation numbers for dimensions 2 … 1024 (see gen_sobol_table.py).
struct SobolInit {
  int degree;             // s: the degree of the primitive polynomial
  uint32_t coefficients;  // a: its inner coefficients a_1 … a_{s−1}, a_1 the highest bit
  uint32_t initial[18];   // m_1 … m_s (odd, m_k < 2^k)
};
constexpr SobolInit kSobolInit[] = {
#include "samplers/qmc/sobol_table.inc"
};
static_assert(sizeof(kSobolInit) / sizeof(kSobolInit[0]) == SobolSequence::kMaxDims - 1);

constexpr int kDoubleBits = 53;
constexpr int kTailBits = kDoubleBits - SobolSequence::kBits;  // digits below the computed ones
constexpr double kBelowOne = 0x1.fffffffffffffp-1;             // the largest double < 1

// A 64-bit mix of several words (SplitMix64's finaliser applied in a chain): the scrambles' random choices.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
uint64_t Hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
  uint64_t h = Mix(seed + 0x9E3779B97F4A7C15ULL);
  h = Mix(h ^ (a * 0xD1B54A32D192ED03ULL));
  h = Mix(h ^ (b * 0xAEF17502108EF2D9ULL));
  return Mix(h ^ (c + 0x632BE59BD9B4E019ULL));
}

}  // namespace

SobolSequence::SobolSequence(int dims, bool scramble, uint64_t seed) : dims_(dims), scramble_(scramble), seed_(seed) {
  assert(dims >= 1 && dims <= kMaxDims);
  direction_.assign(dims, std::vector<uint32_t>(kBits));
  for (int k = 0; k < kBits; ++k) direction_[0][k] = uint32_t{1} << (kBits - 1 - k);  // van der Corput
  for (int j = 1; j < dims; ++j) {
    const SobolInit& init = kSobolInit[j - 1];
    const int s = init.degree;
    std::vector<uint32_t>& v = direction_[j];
    for (int k = 0; k < s && k < kBits; ++k) v[k] = init.initial[k] << (kBits - 1 - k);
    // V_k = V_{k−s} ⊕ (V_{k−s} >> s) ⊕ a_1 V_{k−1} ⊕ … ⊕ a_{s−1} V_{k−s+1}  (Bratley & Fox 1988, eq. 2 scaled)
    for (int k = s; k < kBits; ++k) {
      uint32_t x = v[k - s] ^ (v[k - s] >> s);
      for (int i = 1; i < s; ++i) {
        if ((init.coefficients >> (s - 1 - i)) & 1u) x ^= v[k - i];
      }
      v[k] = x;
    }
  }
}

std::vector<double> SobolSequence::Point(uint64_t n) const {
  // Gray-code order: point n is the XOR of the direction numbers at the set bits of gray(n) = n ⊕ (n >> 1).
  const uint32_t index = static_cast<uint32_t>(n);
  const uint32_t gray = index ^ (index >> 1);
  std::vector<double> x(dims_);
  for (int j = 0; j < dims_; ++j) {
    uint32_t bits = 0;
    for (int k = 0; k < kBits; ++k) {
      if ((gray >> k) & 1u) bits ^= direction_[j][k];
    }
    if (!scramble_) {
      x[j] = std::ldexp(static_cast<double>(bits), -kBits);
      continue;
    }
    // Owen's nested uniform scrambling: digit i is flipped or not by a coin owned by the node (the digits
    // above i), the same coin for every point in that node. A (t, m, s)-net stays one.
    uint32_t scrambled = bits;
    for (int i = 0; i < kBits; ++i) {
      const uint64_t prefix = static_cast<uint64_t>(bits) >> (kBits - i);
      if (Hash(seed_, static_cast<uint64_t>(j), static_cast<uint64_t>(i), prefix) & 1u) {
        scrambled ^= uint32_t{1} << (kBits - 1 - i);
      }
    }
    // Below the 32 digits every original digit is 0, and the tree's coins there are independent per node: a
    // uniform tail owned by the full 32-digit prefix.
    const uint64_t tail = Hash(seed_, static_cast<uint64_t>(j), kBits, bits) >> (64 - kTailBits);
    const uint64_t mantissa = (static_cast<uint64_t>(scrambled) << kTailBits) | tail;
    x[j] = std::ldexp(static_cast<double>(mantissa), -kDoubleBits);
  }
  return x;
}

std::vector<uint32_t> FirstPrimes(int n) {
  std::vector<uint32_t> primes;
  for (uint32_t c = 2; static_cast<int>(primes.size()) < n; ++c) {
    bool prime = true;
    for (uint32_t p : primes) {
      if (p * p > c) break;
      if (c % p == 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes.push_back(c);
  }
  return primes;
}

HaltonSequence::HaltonSequence(int dims, bool scramble, uint64_t seed) : bases_(FirstPrimes(dims)) {
  assert(dims >= 1 && dims <= kMaxDims);
  if (!scramble) return;
  permutations_.resize(dims);
  for (int j = 0; j < dims; ++j) {
    const uint32_t b = bases_[j];
    // Digits until b^−depth < 2^−53: deeper ones cannot change a double.
    const int depth = static_cast<int>(std::ceil(kDoubleBits / std::log2(static_cast<double>(b))));
    permutations_[j].resize(depth);
    for (int i = 0; i < depth; ++i) {
      std::vector<uint16_t>& perm = permutations_[j][i];
      perm.resize(b);
      for (uint32_t d = 0; d < b; ++d) perm[d] = static_cast<uint16_t>(d);
      SplitMix64 rng(Hash(seed, static_cast<uint64_t>(j), static_cast<uint64_t>(i), b));
      for (uint32_t d = b; d > 1; --d) std::swap(perm[d - 1], perm[UniformIndex(rng, d)]);  // Fisher–Yates
    }
  }
}

std::vector<double> HaltonSequence::Point(uint64_t n) const {
  std::vector<double> x(bases_.size());
  for (size_t j = 0; j < bases_.size(); ++j) {
    const uint64_t b = bases_[j];
    // Radical inverse: n = Σ d_i b^i  ↦  Σ π_i(d_i) b^−(i+1).
    double value = 0.0;
    double scale = 1.0 / static_cast<double>(b);
    uint64_t rest = n;
    if (permutations_.empty()) {
      for (; rest > 0; rest /= b, scale /= static_cast<double>(b)) value += static_cast<double>(rest % b) * scale;
    } else {
      for (const std::vector<uint16_t>& perm : permutations_[j]) {
        value += static_cast<double>(perm[rest % b]) * scale;
        rest /= b;
        scale /= static_cast<double>(b);
      }
    }
    x[j] = std::min(value, kBelowOne);
  }
  return x;
}

double CenteredL2Discrepancy(const std::vector<std::vector<double>>& points) {
  const size_t n = points.size();
  if (n == 0) return 0.0;
  const size_t d = points[0].size();
  double single = 0.0;
  for (const auto& x : points) {
    double prod = 1.0;
    for (size_t k = 0; k < d; ++k) {
      const double a = std::abs(x[k] - 0.5);
      prod *= 1.0 + 0.5 * a - 0.5 * a * a;
    }
    single += prod;
  }
  double pairs = 0.0;
  for (const auto& x : points) {
    for (const auto& y : points) {
      double prod = 1.0;
      for (size_t k = 0; k < d; ++k) {
        prod *= 1.0 + 0.5 * std::abs(x[k] - 0.5) + 0.5 * std::abs(y[k] - 0.5) - 0.5 * std::abs(x[k] - y[k]);
      }
      pairs += prod;
    }
  }
  const double nn = static_cast<double>(n);
  return std::pow(13.0 / 12.0, static_cast<double>(d)) - 2.0 / nn * single + pairs / (nn * nn);
}

}  // namespace dial::internal
