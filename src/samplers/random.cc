// The random sampler: every parameter drawn independently and uniformly (in log space for log
// distributions) from a seeded generator, as Optuna's RandomSampler does.
#include "util/random.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <variant>

#include "dial/sampler.h"
#include "samplers/builtin_samplers.h"
#include "util/options.h"

namespace dial {
namespace {

// Optuna widens an int range by half a step on each side before drawing, then rounds, so that every
// integer gets the same share of the (log-)continuous draw.
constexpr double kIntHalfStep = 0.5;

class RandomSampler final : public Sampler {
 public:
  explicit RandomSampler(const RandomSamplerOptions& options) : seed_(options.seed) {}

  std::string Name() const override { return "random"; }

  Result<double> SampleIndependent(const Study& study, const FrozenTrial& trial, const std::string& name,
                                   const Distribution& dist) override {
    // Each value is a function of (seed, trial number, name) alone: workers sharing a seed never repeat each
    // other's trials, a study replays identically whichever worker ran which trial, and a parameter's value does
    // not shift when a conditional sibling appears or disappears.
    internal::SplitMix64 rng(internal::StreamSeed(seed_, trial.number, name));
    return std::visit([&](const auto& d) -> Result<double> { return Sample(rng, name, d); }, dist);
  }

 private:
  Result<double> Sample(internal::SplitMix64& rng, const std::string& name, const FloatDistribution& d) {
    if (d.low == d.high) return d.low;
    if (d.step) {
      // Each of the n + 1 grid points low, low + step, …, high with equal probability.
      const double n = std::round((d.high - d.low) / *d.step);
      const uint64_t k = internal::UniformIndex(rng, static_cast<uint64_t>(n) + 1);
      return std::min(d.low + static_cast<double>(k) * *d.step, d.high);
    }
    if (d.log) {
      if (d.low <= 0) return InvalidArgument("parameter '" + name + "': log distribution needs low > 0");
      const double log_low = std::log(d.low);
      const double x = std::exp(log_low + internal::UniformUnit(rng) * (std::log(d.high) - log_low));
      return std::clamp(x, d.low, d.high);  // exp(log(x)) may land an ulp outside
    }
    return std::min(d.low + internal::UniformUnit(rng) * (d.high - d.low), d.high);
  }

  Result<double> Sample(internal::SplitMix64& rng, const std::string& name, const IntDistribution& d) {
    if (d.step <= 0) return InvalidArgument("parameter '" + name + "': step must be positive");
    if (d.low == d.high) return static_cast<double>(d.low);
    if (d.log) {
      if (d.low < 1) return InvalidArgument("parameter '" + name + "': log distribution needs low >= 1");
      // Log-uniform over [low − ½, high + ½], rounded to the step grid: Optuna's draw for int log.
      const double log_low = std::log(static_cast<double>(d.low) - kIntHalfStep);
      const double log_high = std::log(static_cast<double>(d.high) + kIntHalfStep);
      const double x = std::exp(log_low + internal::UniformUnit(rng) * (log_high - log_low));
      const double k = std::round((x - static_cast<double>(d.low)) / static_cast<double>(d.step));
      const double v = static_cast<double>(d.low) + k * static_cast<double>(d.step);
      return std::clamp(v, static_cast<double>(d.low), static_cast<double>(d.high));
    }
    // In unsigned arithmetic, which cannot overflow for any int64 range: n + 1 grid points from low.
    const uint64_t n = (static_cast<uint64_t>(d.high) - static_cast<uint64_t>(d.low)) / static_cast<uint64_t>(d.step);
    const uint64_t k = n == UINT64_MAX ? rng() : internal::UniformIndex(rng, n + 1);
    return static_cast<double>(static_cast<int64_t>(static_cast<uint64_t>(d.low) + k * static_cast<uint64_t>(d.step)));
  }

  Result<double> Sample(internal::SplitMix64& rng, const std::string& name, const CategoricalDistribution& d) {
    if (d.choices.empty()) return InvalidArgument("parameter '" + name + "': no choices");
    return static_cast<double>(internal::UniformIndex(rng, d.choices.size()));
  }

  uint64_t seed_;
};

}  // namespace

std::unique_ptr<Sampler> NewRandomSampler(const RandomSamplerOptions& options) {
  return std::make_unique<RandomSampler>(options);
}

namespace internal {

Result<std::unique_ptr<Sampler>> CreateRandomSamplerFromJson(const Json& options, uint64_t seed) {
  const std::string what = "sampler 'random'";
  DIAL_RETURN_IF_ERROR(CheckOptionKeys(what, options, {"seed"}));
  RandomSamplerOptions opts;
  DIAL_ASSIGN_OR_RETURN(opts.seed, GetSeedOption(what, options, seed));
  return NewRandomSampler(opts);
}

}  // namespace internal
}  // namespace dial
