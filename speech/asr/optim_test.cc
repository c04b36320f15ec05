// Tests of the optimizers (every one decreases a quadratic; Adafactor's first step against its formula; its
// checkpoint round trip) and of every learning-rate schedule at known steps.
#include "speech/asr/optim.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <sstream>

namespace dial::speech {
namespace {

class OptimTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(1); }
};

// f(W, v) = ‖A W − B‖² + ‖v − c‖²: a matrix (factored by Adafactor) and a vector parameter.
struct Quadratic {
  torch::Tensor a, b, c, w, v;
  Quadratic() {
    torch::manual_seed(0);
    a = torch::randn({8, 6});
    b = torch::randn({8, 5});
    c = torch::randn({7});
    w = torch::zeros({6, 5}, torch::requires_grad());
    v = torch::zeros({7}, torch::requires_grad());
  }
  torch::Tensor Loss() const { return (a.matmul(w) - b).pow(2).sum() + (v - c).pow(2).sum(); }
};

// The remaining gap to the optimum as a fraction of the initial gap: (f − f*) / (f₀ − f*), with f* the
// least-squares residual ‖A A⁺ B − B‖² (A is 8×6, so the matrix part cannot reach 0).
double Minimise(const OptimizerOptions& options, int steps) {
  Quadratic q;
  const double optimum = (q.a.matmul(torch::linalg::pinv(q.a)).matmul(q.b) - q.b).pow(2).sum().item<double>();
  auto optimizer = NewOptimizer({q.w, q.v}, options);
  EXPECT_TRUE(optimizer.ok()) << optimizer.status().ToString();
  const double first = q.Loss().item<double>();
  for (int i = 0; i < steps; ++i) {
    (*optimizer)->zero_grad();
    q.Loss().backward();
    (*optimizer)->step();
  }
  return (q.Loss().item<double>() - optimum) / (first - optimum);
}

TEST_F(OptimTest, EveryOptimizerDecreasesAQuadratic) {
  for (const char* name : {"adam", "adamw", "sgd", "adafactor"}) {
    OptimizerOptions o;
    o.name = name;
    o.lr = std::string(name) == "sgd" ? 0.005 : 0.05;
    if (std::string(name) == "sgd") {
      o.momentum = 0.9;
      o.nesterov = true;
    }
    const double gap = Minimise(o, 300);
    EXPECT_LT(gap, 1e-3) << name;
    std::printf("  %s: remaining gap to the optimum after 300 steps %.2e\n", name, gap);
  }
}

TEST_F(OptimTest, AdafactorWithoutMomentumAlsoConverges) {
  OptimizerOptions o;
  o.name = "adafactor";
  o.beta1 = 0.0;
  o.lr = 0.05;
  // Without momentum the normalised update keeps a size of about lr near the optimum, so at a fixed lr it
  // hovers there: measured gap 6.4e-3 after 300 steps (from 1 at the start).
  EXPECT_LT(Minimise(o, 300), 0.02);
}

// At t = 1, β̂2 = 1 − 1^−0.8 = 0, so the second moments are this gradient's: for the vector, V = g² and the
// update is lr·sign(g) (RMS 1, not clipped); for the matrix, V̂ = R Cᵀ / mean(R) with R, C the row and column
// means of G², then clipped to RMS ≤ 1.
TEST_F(OptimTest, AdafactorFirstStepMatchesTheFormula) {
  Quadratic q;
  OptimizerOptions o;
  o.name = "adafactor";
  o.beta1 = 0.0;
  o.lr = 0.1;
  auto optimizer = NewOptimizer({q.w, q.v}, o);
  ASSERT_TRUE(optimizer.ok());
  q.Loss().backward();
  auto g_w = q.w.grad().clone();
  auto g_v = q.v.grad().clone();
  auto w0 = q.w.detach().clone();
  auto v0 = q.v.detach().clone();
  (*optimizer)->step();
  EXPECT_TRUE(torch::allclose(q.v.detach(), v0 - 0.1 * g_v.sign(), 1e-5, 1e-6));
  auto sq = g_w * g_w + 1e-30;
  auto r = sq.mean(1);
  auto c = sq.mean(0);
  auto v_hat = torch::outer(r, c) / r.mean();
  auto u = g_w / v_hat.sqrt();
  const double rms = u.pow(2).mean().sqrt().item<double>();
  u = u / std::max(1.0, rms);
  EXPECT_TRUE(torch::allclose(q.w.detach(), w0 - 0.1 * u, 1e-5, 1e-6));
}

// Saving after 10 steps, loading into a fresh optimizer and continuing gives the same parameters as never
// stopping (what checkpoint resume needs).
TEST_F(OptimTest, AdafactorStateSurvivesSaveAndLoad) {
  OptimizerOptions o;
  o.name = "adafactor";
  o.lr = 0.05;
  Quadratic straight;
  auto opt_a = *NewOptimizer({straight.w, straight.v}, o);
  for (int i = 0; i < 20; ++i) {
    opt_a->zero_grad();
    straight.Loss().backward();
    opt_a->step();
  }
  Quadratic resumed;
  auto opt_b = *NewOptimizer({resumed.w, resumed.v}, o);
  for (int i = 0; i < 10; ++i) {
    opt_b->zero_grad();
    resumed.Loss().backward();
    opt_b->step();
  }
  std::stringstream buffer;
  {
    torch::serialize::OutputArchive archive;
    opt_b->save(archive);
    archive.save_to(buffer);
  }
  auto opt_c = *NewOptimizer({resumed.w, resumed.v}, o);
  {
    torch::serialize::InputArchive archive;
    archive.load_from(buffer);
    opt_c->load(archive);
  }
  for (int i = 0; i < 10; ++i) {
    opt_c->zero_grad();
    resumed.Loss().backward();
    opt_c->step();
  }
  EXPECT_TRUE(torch::allclose(straight.w, resumed.w, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(straight.v, resumed.v, 1e-6, 1e-7));
}

TEST_F(OptimTest, SetLearningRateReachesEveryGroup) {
  Quadratic q;
  for (const char* name : {"adam", "adamw", "sgd", "adafactor"}) {
    OptimizerOptions o;
    o.name = name;
    auto optimizer = *NewOptimizer({q.w, q.v}, o);
    SetLearningRate(*optimizer, 0.123);
    for (auto& group : optimizer->param_groups()) EXPECT_DOUBLE_EQ(group.options().get_lr(), 0.123) << name;
  }
}

TEST_F(OptimTest, OptimizerValidateNamesTheKey) {
  OptimizerOptions o;
  o.name = "lamb";
  EXPECT_EQ(o.Validate().message(), "optimizer (lamb) must be one of adam, adamw, sgd, adafactor");
  o = {};
  o.lr = -1;
  EXPECT_EQ(o.Validate().message(), "lr (-1) must be > 0");
  o = {};
  o.beta2 = 1.0;
  EXPECT_EQ(o.Validate().message(), "beta2 (1) must be in [0, 1)");
  o = {};
  o.name = "sgd";
  o.nesterov = true;
  EXPECT_EQ(o.Validate().message(), "nesterov needs momentum > 0 (momentum is 0)");
  EXPECT_FALSE(NewOptimizer({torch::zeros({2}, torch::requires_grad())}, o).ok());
}

LrSchedule Make(const ScheduleOptions& o) {
  auto s = NewLrSchedule(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

TEST_F(OptimTest, NoamFollowsItsFormula) {
  ScheduleOptions o;
  o.name = "noam";
  o.noam_factor = 2.0;
  o.d_model = 256;
  o.warmup_steps = 100;
  auto s = Make(o);
  // 2 · 256^−0.5 = 0.125;  step 50: 0.125·50·100^−1.5 = 0.00625;  step 100: 0.125·0.1;  step 400: 0.125·400^−0.5
  EXPECT_NEAR(s.LearningRate(50), 0.00625, 1e-12);
  EXPECT_NEAR(s.LearningRate(100), 0.0125, 1e-12);
  EXPECT_NEAR(s.LearningRate(400), 0.00625, 1e-12);
  EXPECT_NEAR(s.PeakLearningRate(), 0.0125, 1e-12);
  for (int64_t step = 1; step < 1000; step += 7) EXPECT_LE(s.LearningRate(step), s.PeakLearningRate() + 1e-15);
}

TEST_F(OptimTest, WarmupLrPeaksAtTheConfiguredLr) {
  ScheduleOptions o;
  o.name = "warmuplr";
  o.lr = 2e-3;
  o.warmup_steps = 400;
  auto s = Make(o);
  EXPECT_NEAR(s.LearningRate(400), 2e-3, 1e-15);
  EXPECT_NEAR(s.LearningRate(200), 1e-3, 1e-15);
  EXPECT_NEAR(s.LearningRate(1600), 1e-3, 1e-15);  // 2e-3 · (400/1600)^0.5
  EXPECT_DOUBLE_EQ(s.PeakLearningRate(), 2e-3);
}

TEST_F(OptimTest, WarmupCosineWarmsUpPeaksAndEndsAtTheFloor) {
  ScheduleOptions o;
  o.name = "warmup_cosine";
  o.lr = 1e-3;
  o.warmup_steps = 10;
  o.total_steps = 110;
  o.min_lr_ratio = 0.1;
  auto s = Make(o);
  EXPECT_NEAR(s.LearningRate(5), 5e-4, 1e-15);
  EXPECT_NEAR(s.LearningRate(10), 1e-3, 1e-15);
  EXPECT_NEAR(s.LearningRate(60), 1e-4 + 9e-4 * 0.5, 1e-15);  // half way: cos(π/2) = 0
  EXPECT_NEAR(s.LearningRate(110), 1e-4, 1e-15);
  EXPECT_NEAR(s.LearningRate(5000), 1e-4, 1e-15);
  EXPECT_DOUBLE_EQ(s.PeakLearningRate(), 1e-3);
}

TEST_F(OptimTest, WarmupExponentialDecaysByGammaPerStep) {
  ScheduleOptions o;
  o.name = "warmup_exponential";
  o.lr = 1e-3;
  o.warmup_steps = 20;
  o.gamma = 0.99;
  o.min_lr_ratio = 0.05;
  auto s = Make(o);
  EXPECT_NEAR(s.LearningRate(10), 5e-4, 1e-15);
  EXPECT_NEAR(s.LearningRate(20), 1e-3, 1e-15);
  EXPECT_NEAR(s.LearningRate(30), 1e-3 * std::pow(0.99, 10), 1e-15);
  EXPECT_NEAR(s.LearningRate(100000), 5e-5, 1e-15);
}

TEST_F(OptimTest, CyclicIsATriangle) {
  ScheduleOptions o;
  o.name = "cyclic";
  o.lr = 1e-2;
  o.min_lr_ratio = 0.1;
  o.cycle_steps = 100;
  auto s = Make(o);
  EXPECT_NEAR(s.LearningRate(100), 1e-3, 1e-15);
  EXPECT_NEAR(s.LearningRate(150), 1e-2, 1e-15);
  EXPECT_NEAR(s.LearningRate(125), 1e-3 + 9e-3 * 0.5, 1e-15);
  EXPECT_NEAR(s.LearningRate(175), 1e-3 + 9e-3 * 0.5, 1e-15);
}

TEST_F(OptimTest, PlateauHalvesAfterPatienceRunsOut) {
  ScheduleOptions o;
  o.name = "plateau";
  o.lr = 1e-3;
  o.plateau_factor = 0.5;
  o.plateau_patience = 1;
  o.min_lr_ratio = 0.2;
  auto s = Make(o);
  EXPECT_DOUBLE_EQ(s.LearningRate(50), 1e-3);
  s.ReportMetric(30.0);  // first report: the best
  s.ReportMetric(25.0);  // improved
  s.ReportMetric(26.0);  // 1 bad report: within patience
  EXPECT_DOUBLE_EQ(s.LearningRate(50), 1e-3);
  s.ReportMetric(25.0);  // not better than 25·(1 − 1e-4): 2 bad > patience → halve
  EXPECT_DOUBLE_EQ(s.LearningRate(50), 5e-4);
  for (int i = 0; i < 10; ++i) s.ReportMetric(99.0);
  EXPECT_DOUBLE_EQ(s.LearningRate(50), 2e-4);  // floored at min_lr_ratio · lr
  // The state round-trips (checkpoints).
  auto copy = Make(o);
  copy.set_state(s.state());
  EXPECT_DOUBLE_EQ(copy.LearningRate(50), s.LearningRate(50));
}

TEST_F(OptimTest, ConstantWithWarmup) {
  ScheduleOptions o;
  o.name = "constant";
  o.lr = 3e-4;
  o.warmup_steps = 3;
  auto s = Make(o);
  EXPECT_NEAR(s.LearningRate(1), 1e-4, 1e-15);
  EXPECT_DOUBLE_EQ(s.LearningRate(3), 3e-4);
  EXPECT_DOUBLE_EQ(s.LearningRate(1000), 3e-4);
}

TEST_F(OptimTest, ScheduleValidateNamesTheKey) {
  ScheduleOptions o;
  o.name = "step";
  EXPECT_EQ(o.Validate().message(),
            "scheduler (step) must be one of warmup_cosine, warmup_exponential, warmuplr, noam, plateau, cyclic, "
            "constant");
  o = {};
  o.name = "noam";
  EXPECT_EQ(o.Validate().message(), "warmup_steps (0) must be at least 1 for noam");
  o = {};
  o.warmup_steps = 100;
  o.total_steps = 50;  // a warmup longer than the run: valid, the lr only rises
  EXPECT_TRUE(o.Validate().ok());
  {
    auto rising = NewLrSchedule(o);
    ASSERT_TRUE(rising.ok());
    EXPECT_NEAR(rising->LearningRate(50), o.lr * 50 / 100, 1e-12);
  }
  o = {};
  o.name = "constant";
  o.min_lr_ratio = 1.5;
  EXPECT_EQ(o.Validate().message(), "min_lr_ratio (1.5) must be in [0, 1]");
  EXPECT_FALSE(NewLrSchedule(o).ok());
}

}  // namespace
}  // namespace dial::speech
