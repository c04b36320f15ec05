// Small, portable draws from a seeded std::mt19937_64, so a sampler's sequence for a seed is the same with
// every standard library (std::uniform_*_distribution are implementation-defined).
#pragma once

#include <cstdint>
#include <random>
#include <string_view>

namespace dial::internal {

// SplitMix64 (Steele, Lea & Flood 2014): a tiny generator that is cheap to seed, so a sampler can start a fresh,
// independent stream for every (seed, trial number, parameter) without paying mt19937_64's seeding cost.
class SplitMix64 {
 public:
  using result_type = uint64_t;
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return UINT64_MAX; }
  uint64_t operator()() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// The seed of the stream for one parameter of one trial: a hash of the study seed, the trial number and the
// parameter name (FNV-1a), mixed so that nearby numbers give unrelated streams.
inline uint64_t StreamSeed(uint64_t seed, int64_t trial_number, std::string_view name) {
  uint64_t h = 0xCBF29CE484222325ULL;                           // FNV-1a offset basis
  for (unsigned char c : name) h = (h ^ c) * 0x100000001B3ULL;  // FNV-1a prime
  SplitMix64 mix(seed ^ (static_cast<uint64_t>(trial_number) * 0xD1B54A32D192ED03ULL) ^ (h << 1));
  return mix();
}

// Uniform on [0, 1) with 53 random bits.
template <typename Rng>
inline double UniformUnit(Rng& rng) {
  constexpr int kMantissaBits = 53;
  return static_cast<double>(rng() >> (64 - kMantissaBits)) * 0x1.0p-53;
}

// Uniform on {0, …, n − 1}; n ≥ 1. Rejection sampling removes the modulo bias.
template <typename Rng>
inline uint64_t UniformIndex(Rng& rng, uint64_t n) {
  if (n <= 1) return 0;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // draws ≥ limit would favour small indices
  uint64_t r = rng();
  while (r >= limit) r = rng();
  return r % n;
}

}  // namespace dial::internal
