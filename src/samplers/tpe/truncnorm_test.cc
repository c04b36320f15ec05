// Truncated-normal functions against references computed with mpmath at 60 digits (mp.ncdf, and bisection on
// log ncdf for quantiles): /usr/bin/python3, `import mpmath as m; m.mp.dps = 60`.
#include "samplers/tpe/truncnorm.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dial::internal::tpe {
namespace {

// Relative tolerance for values computed to full precision.
constexpr double kRel = 1e-13;

void ExpectRel(double actual, double expected, double rel = kRel) {
  EXPECT_NEAR(actual, expected, rel * std::fabs(expected)) << "expected " << expected;
}

TEST(TpeTruncNormTest, LogNdtrInBothTails) {
  ExpectRel(LogNdtr(-40.0), -804.60844201375379);  // asymptotic series
  ExpectRel(LogNdtr(-5.0), -15.064998393988726);
  ExpectRel(LogNdtr(0.0), std::log(0.5));
  ExpectRel(LogNdtr(3.0), -0.0013508099647481938);
}

TEST(TpeTruncNormTest, LogGaussMass) {
  ExpectRel(LogGaussMass(-1, 1), -0.38171514630212607);
  ExpectRel(LogGaussMass(-50, -40), -804.60844201375379);  // far left tail: a naive Φ(b) − Φ(a) is 0
  ExpectRel(LogGaussMass(0.5, 0.6), -3.3730642269427959);
  ExpectRel(LogGaussMass(3, 8), -6.6077262215108104);
  ExpectRel(LogGaussMass(-8, -3), -6.6077262215108104);  // symmetry
  EXPECT_EQ(LogGaussMass(1, 1), -INFINITY);
}

TEST(TpeTruncNormTest, LogPdf) {
  ExpectRel(TruncNormLogPdf(0.3, -1, 2), -0.76377223888021016);
  ExpectRel(TruncNormLogPdf(-45, -50, -40), -208.81049651945088);
  ExpectRel(TruncNormLogPdf(4, 3, 8), -2.3112123116938624);
  EXPECT_EQ(TruncNormLogPdf(2.5, -1, 2), -INFINITY);
}

TEST(TpeTruncNormTest, QuantilesAndInverse) {
  ExpectRel(TruncNormPpf(0.3, -1, 2), -0.24240381788922683, 1e-12);
  ExpectRel(TruncNormPpf(0.5, -50, -40), -40.017314126764651, 1e-12);
  ExpectRel(TruncNormPpf(0.7, 3, 8), 3.3493757211571181, 1e-12);
  EXPECT_EQ(TruncNormPpf(0.0, -1, 2), -1.0);
  EXPECT_EQ(TruncNormPpf(1.0, -1, 2), 2.0);
  // Φ⁻¹ and its log-space form agree with Φ to full precision, far into the tail.
  ExpectRel(Ndtri(1e-100), -21.273453560965326);
  ExpectRel(Ndtri(0.975), 1.959963984540054);
  for (double y : {-1e6, -5000.0, -700.0, -100.0, -1.0, -0.5, -1e-3}) {
    ExpectRel(LogNdtr(NdtriExp(y)), y, 1e-12);
  }
  // The quantile function is increasing and its CDF round-trips: P(Z ≤ ppf(u)) = u on [a, b].
  for (double u = 0.05; u < 1.0; u += 0.1) {
    const double z = TruncNormPpf(u, -0.5, 1.5);
    const double cdf = (std::exp(LogNdtr(z)) - std::exp(LogNdtr(-0.5))) / std::exp(LogGaussMass(-0.5, 1.5));
    EXPECT_NEAR(cdf, u, 1e-12);
  }
}

}  // namespace
}  // namespace dial::internal::tpe
