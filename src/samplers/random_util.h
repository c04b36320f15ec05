// Small, portable draws from a seeded std::mt19937_64, so a sampler's sequence for a seed is the same with
// every standard library (std::uniform_*_distribution are implementation-defined).
#pragma once

#include <cstdint>
#include <random>

namespace dial::internal {

// Uniform on [0, 1) with 53 random bits.
inline double UniformUnit(std::mt19937_64& rng) {
  constexpr int kMantissaBits = 53;
  return static_cast<double>(rng() >> (64 - kMantissaBits)) * 0x1.0p-53;
}

// Uniform on {0, …, n − 1}; n ≥ 1. Rejection sampling removes the modulo bias.
inline uint64_t UniformIndex(std::mt19937_64& rng, uint64_t n) {
  if (n <= 1) return 0;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // draws ≥ limit would favour small indices
  uint64_t r = rng();
  while (r >= limit) r = rng();
  return r % n;
}

}  // namespace dial::internal
