#include "samplers/qmc/low_discrepancy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "util/random.h"

namespace dial::internal {
namespace {

// The first points of the unscrambled Sobol' sequence in Gray-code order (torch.quasirandom.SobolEngine and
// scipy.stats.qmc.Sobol(scramble=False) print the same).
TEST(SobolSequenceTest, FirstPointsAreTheKnownSequence) {
  const std::vector<std::vector<double>> expected = {
      {0.0, 0.0, 0.0, 0.0, 0.0},           {0.5, 0.5, 0.5, 0.5, 0.5},           {0.75, 0.25, 0.25, 0.25, 0.75},
      {0.25, 0.75, 0.75, 0.75, 0.25},      {0.375, 0.375, 0.625, 0.875, 0.375}, {0.875, 0.875, 0.125, 0.375, 0.875},
      {0.625, 0.125, 0.875, 0.625, 0.625}, {0.125, 0.625, 0.375, 0.125, 0.125},
  };
  SobolSequence sobol(5, /*scramble=*/false, 0);
  for (size_t n = 0; n < expected.size(); ++n) EXPECT_EQ(sobol.Point(n), expected[n]) << "point " << n;
}

// Deep digits and high dimensions exercise the direction-number recurrence: point 12345 and point 987654321
// in dimensions up to 1024, against PyTorch's own table (SobolEngine state), as numerators of 2^−30.
TEST(SobolSequenceTest, DeepPointsInHighDimensionsMatchTheReference) {
  SobolSequence sobol(1024, /*scramble=*/false, 0);
  const std::vector<int> dims = {0, 1, 2, 9, 63, 64, 511, 1023};
  const std::vector<double> at_12345 = {688193536, 873398272,  172163072, 461307904,
                                        499974144, 1016397824, 946667520, 619642880};
  const std::vector<double> at_987654321 = {634299257, 588744139, 441832943, 251132351,
                                            930177347, 442938461, 683167417, 348629335};
  const std::vector<double> p = sobol.Point(12345);
  const std::vector<double> q = sobol.Point(987654321);
  for (size_t i = 0; i < dims.size(); ++i) {
    EXPECT_EQ(p[dims[i]], std::ldexp(at_12345[i], -30)) << "dimension " << dims[i] + 1;
    EXPECT_EQ(q[dims[i]], std::ldexp(at_987654321[i], -30)) << "dimension " << dims[i] + 1;
  }
}

// One point per interval [k/2^m, (k+1)/2^m) in every coordinate among the first 2^m points: every 1-d
// projection is a (0, m, 1)-net, scrambled or not.
void ExpectBalanced(const SobolSequence& sobol, int max_m) {
  for (int m = 1; m <= max_m; ++m) {
    const uint64_t n = uint64_t{1} << m;
    std::vector<std::set<uint64_t>> cells(sobol.dims());
    for (uint64_t i = 0; i < n; ++i) {
      const std::vector<double> x = sobol.Point(i);
      for (int j = 0; j < sobol.dims(); ++j) {
        ASSERT_GE(x[j], 0.0);
        ASSERT_LT(x[j], 1.0);
        cells[j].insert(static_cast<uint64_t>(std::floor(x[j] * static_cast<double>(n))));
      }
    }
    for (int j = 0; j < sobol.dims(); ++j) EXPECT_EQ(cells[j].size(), n) << "m = " << m << ", dimension " << j;
  }
}

TEST(SobolSequenceTest, FirstPowerOfTwoPointsAreBalanced) { ExpectBalanced(SobolSequence(64, false, 0), 10); }

TEST(SobolSequenceTest, ScrambledPointsStayBalanced) {
  ExpectBalanced(SobolSequence(64, true, 1), 10);
  ExpectBalanced(SobolSequence(64, true, 2024), 10);
}

// The first two Sobol' coordinates form a (0, m, 2)-net: every elementary box of area 2^−m (2^−a by 2^−(m−a))
// holds exactly one of the first 2^m points. Owen's scrambling keeps that.
TEST(SobolSequenceTest, ScrambledFirstTwoCoordinatesAreAZeroMTwoNet) {
  SobolSequence sobol(2, true, 99);
  constexpr int kM = 8;
  const uint64_t n = uint64_t{1} << kM;
  std::vector<std::vector<double>> points;
  for (uint64_t i = 0; i < n; ++i) points.push_back(sobol.Point(i));
  for (int a = 0; a <= kM; ++a) {
    std::set<std::pair<uint64_t, uint64_t>> boxes;
    for (const auto& x : points) {
      boxes.insert({static_cast<uint64_t>(std::floor(std::ldexp(x[0], a))),
                    static_cast<uint64_t>(std::floor(std::ldexp(x[1], kM - a)))});
    }
    EXPECT_EQ(boxes.size(), n) << "boxes 2^-" << a << " x 2^-" << kM - a;
  }
}

TEST(SobolSequenceTest, ScramblingIsDeterminedBySeed) {
  SobolSequence a(8, true, 5), b(8, true, 5), c(8, true, 6);
  for (uint64_t n : {0u, 1u, 7u, 1000u}) {
    EXPECT_EQ(a.Point(n), b.Point(n));
    EXPECT_NE(a.Point(n), c.Point(n));
  }
  // Full double precision below the 32 computed digits: not all points are multiples of 2^−32.
  bool finer = false;
  for (double v : a.Point(3)) finer = finer || std::ldexp(v, 32) != std::floor(std::ldexp(v, 32));
  EXPECT_TRUE(finer);
}

TEST(HaltonSequenceTest, FirstPointsAreRadicalInverses) {
  HaltonSequence halton(3, /*scramble=*/false, 0);
  const std::vector<std::vector<double>> expected = {
      {0.0, 0.0, 0.0},       {0.5, 1.0 / 3, 0.2},    {0.25, 2.0 / 3, 0.4},   {0.75, 1.0 / 9, 0.6},
      {0.125, 4.0 / 9, 0.8}, {0.625, 7.0 / 9, 0.04}, {0.375, 2.0 / 9, 0.24}, {0.875, 5.0 / 9, 0.44},
  };
  for (size_t n = 0; n < expected.size(); ++n) {
    const std::vector<double> x = halton.Point(n);
    for (size_t j = 0; j < 3; ++j) EXPECT_NEAR(x[j], expected[n][j], 1e-15) << "point " << n << " dim " << j;
  }
  EXPECT_EQ(FirstPrimes(6), (std::vector<uint32_t>{2, 3, 5, 7, 11, 13}));
  EXPECT_EQ(FirstPrimes(1024).back(), 8161u);
}

// Permuting the digits keeps each coordinate a (0, 1)-sequence in its base: the first b^k points fall one in
// each interval of length b^−k.
TEST(HaltonSequenceTest, ScrambledCoordinatesStayStratified) {
  HaltonSequence halton(4, /*scramble=*/true, 17);
  const std::vector<uint32_t> bases = {2, 3, 5, 7};
  for (size_t j = 0; j < bases.size(); ++j) {
    uint64_t n = 1;
    for (int k = 1; n * bases[j] <= 400; ++k) {
      n *= bases[j];
      std::set<uint64_t> cells;
      for (uint64_t i = 0; i < n; ++i) {
        const double x = halton.Point(i)[j];
        ASSERT_GE(x, 0.0);
        ASSERT_LT(x, 1.0);
        cells.insert(static_cast<uint64_t>(std::floor(x * static_cast<double>(n))));
      }
      EXPECT_EQ(cells.size(), n) << "base " << bases[j] << ", " << n << " points";
    }
  }
  HaltonSequence same(4, true, 17), other(4, true, 18);
  EXPECT_EQ(halton.Point(11), same.Point(11));
  EXPECT_NE(halton.Point(11), other.Point(11));
}

TEST(DiscrepancyTest, CentredL2OfOnePointAtTheCentre) {
  // (13/12) − 2·1 + 1 = 1/12 for the single point ½ in one dimension.
  EXPECT_NEAR(CenteredL2Discrepancy({{0.5}}), 1.0 / 12, 1e-15);
  // Points 0 and 1: |x − ½| = ½ for both, so each single term is 1 + ¼ − ⅛ = 9/8; the pair terms are 3/2 for
  // (0,0) and (1,1) and 1 for (0,1) and (1,0). CD² = 13/12 − (2/2)(9/4) + (5/4) = 1/12.
  EXPECT_NEAR(CenteredL2Discrepancy({{0.0}, {1.0}}), 1.0 / 12, 1e-15);
}

// Scrambled Sobol' and Halton points are more uniform than independent uniform draws.
TEST(DiscrepancyTest, QmcPointsBeatRandomPoints) {
  constexpr int kDims = 5;
  constexpr int kPoints = 256;
  for (uint64_t seed : {1u, 2u, 3u}) {
    SobolSequence sobol(kDims, true, seed);
    HaltonSequence halton(kDims, true, seed);
    std::vector<std::vector<double>> s, h, r;
    SplitMix64 rng(seed);
    for (int i = 0; i < kPoints; ++i) {
      s.push_back(sobol.Point(i));
      h.push_back(halton.Point(i));
      std::vector<double> x(kDims);
      for (double& v : x) v = UniformUnit(rng);
      r.push_back(x);
    }
    const double random = CenteredL2Discrepancy(r);
    EXPECT_LT(CenteredL2Discrepancy(s), 0.5 * random) << "seed " << seed;
    EXPECT_LT(CenteredL2Discrepancy(h), 0.5 * random) << "seed " << seed;
  }
}

}  // namespace
}  // namespace dial::internal
