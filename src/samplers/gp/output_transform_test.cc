// Tests of the GP sampler's output transforms: Φ⁻¹ against known quantiles, and each transform keeping the order
// of the values and standardising them.
#include "samplers/gp/output_transform.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dial::internal::gp {
namespace {

TEST(InverseNormalCdfTest, KnownQuantiles) {
  EXPECT_NEAR(InverseNormalCdf(0.5), 0.0, 1e-15);
  EXPECT_NEAR(InverseNormalCdf(0.975), 1.959963984540054, 1e-13);
  EXPECT_NEAR(InverseNormalCdf(0.025), -1.959963984540054, 1e-13);
  EXPECT_NEAR(InverseNormalCdf(1e-10), -6.361340902404056, 1e-10);
  for (double p : {1e-6, 0.01, 0.3, 0.77, 0.999}) {
    EXPECT_NEAR(0.5 * std::erfc(-InverseNormalCdf(p) / std::sqrt(2.0)), p, 1e-14 + 1e-12 * p) << "p = " << p;
  }
}

TEST(TransformOutputsTest, KeepOrderAndStandardise) {
  Eigen::VectorXd y(6);
  y << 3.0, 1e5, 1.0, 250.0, 3.0, 40.0;  // heavy tail, a tie
  for (OutputTransform t : {OutputTransform::kNone, OutputTransform::kLog, OutputTransform::kRank}) {
    const Eigen::VectorXd out = TransformOutputs(y, t);
    EXPECT_NEAR(out.mean(), 0.0, 1e-12);
    EXPECT_NEAR((out.array() - out.mean()).square().mean(), 1.0, 1e-12);
    for (int i = 0; i < 6; ++i) {
      for (int j = 0; j < 6; ++j) {
        if (y[i] < y[j]) {
          EXPECT_LT(out[i], out[j]) << "transform " << static_cast<int>(t);
        } else if (y[i] == y[j]) {
          EXPECT_EQ(out[i], out[j]) << "transform " << static_cast<int>(t);
        }
      }
    }
  }
  // The log warp compresses the tail: the best values are no longer squeezed together by the 1e5 outlier.
  const Eigen::VectorXd plain = TransformOutputs(y, OutputTransform::kNone);
  const Eigen::VectorXd warped = TransformOutputs(y, OutputTransform::kLog);
  EXPECT_GT(warped[0] - warped[2], 10 * (plain[0] - plain[2]));
}

TEST(TransformOutputsTest, ConstantValuesStayFinite) {
  const Eigen::VectorXd y = Eigen::VectorXd::Constant(4, 2.5);
  for (OutputTransform t : {OutputTransform::kNone, OutputTransform::kLog, OutputTransform::kRank}) {
    const Eigen::VectorXd out = TransformOutputs(y, t);
    EXPECT_TRUE(out.allFinite());
    EXPECT_NEAR(out.cwiseAbs().maxCoeff(), 0.0, 1e-12);
  }
}

}  // namespace
}  // namespace dial::internal::gp
