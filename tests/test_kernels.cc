// Every SIMD kernel against its scalar twin, on every compiled target this CPU supports, on
// shapes chosen to hit the edges of the register tiles.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "hwy/targets.h"
#include "mlpbench/kernels.h"
#include "mlpbench/kernels_scalar.h"
#include "mlpbench/tensor.h"
#include "test_support.h"

namespace test_kernels {

using namespace mlpbench;

namespace {

using test_support::for_each_target;
using test_support::fuses_multiply_add;
using test_support::random_buffer;


void check_close(const float* got, const float* want, size_t n, double tol, const std::string& what) {
  for (size_t i = 0; i < n; ++i) {
    INFO(what << " at " << i << ": got " << got[i] << ", want " << want[i]);
    REQUIRE(std::abs(double(got[i]) - want[i]) <= tol * (1 + std::abs(double(want[i]))));
  }
}

struct Shape {
  size_t m, n, k;
};

}  // namespace

TEST_CASE("every supported target is selectable and reported", "[kernels]") {
  REQUIRE_FALSE(kernels::supported_targets().empty());
  REQUIRE_FALSE(kernels::select_simd_target("NO_SUCH_TARGET"));
  for_each_target([](const std::string&) {});
  REQUIRE(kernels::active_target() == kernels::supported_targets().front());
}

TEST_CASE("gemm matches its scalar twin on awkward shapes", "[kernels][gemm]") {
  // k up to 12 with strips of whole vectors takes the register-B path (the input gradient
  // against a 10-class layer: k = 10), the others the register tiles.
  const std::vector<Shape> shapes = {{1, 1, 1},    {3, 5, 1},     {7, 10, 13},  {8, 32, 784},
                                     {9, 33, 17},  {32, 512, 64}, {31, 47, 5},  {2, 100, 0},
                                     {17, 16, 3},  {64, 10, 512}, {13, 65, 9},  {32, 512, 10},
                                     {45, 64, 10}, {3, 96, 12},   {20, 32, 7},  {33, 80, 6},
                                     {256, 32, 2}};
  for_each_target([&](const std::string& target) {
    std::mt19937 gen(7);
    for (const Shape& s : shapes) {
      for (int variant = 0; variant < 8; ++variant) {
        const bool transposed = variant & 1, epilogue = variant & 2, panels = variant & 4;
        FloatBuffer a = random_buffer(s.m * s.k + 1, gen), b = random_buffer(s.k * s.n + 1, gen);
        FloatBuffer bias = random_buffer(s.n, gen), mask = random_buffer(s.m * s.n, gen);
        FloatBuffer c(s.m * s.n), want(s.m * s.n);
        kernels::GemmArgs g;
        g.m = s.m, g.n = s.n, g.k = s.k;
        g.a = a.data();
        g.a_row_stride = transposed ? 1 : s.k;
        g.a_col_stride = transposed ? s.m : 1;
        g.b = b.data(), g.ldb = s.n, g.b_panels = panels;
        g.ldc = s.n, g.c_panels = panels;
        if (epilogue) {
          g.bias = bias.data();
          g.relu = (variant & 3) == 2;
          if ((variant & 3) == 3) g.mask = mask.data(), g.ldmask = s.n;
        }
        g.c = want.data();
        scalar::gemm(g);
        g.c = c.data();
        // Split the work as two threads would, plus a third share that gets nothing.
        for (int p = 0; p < 3; ++p) kernels::gemm(g, {p, 3});
        INFO(target << " m=" << s.m << " n=" << s.n << " k=" << s.k << " variant " << variant);
        if (fuses_multiply_add()) {
          for (size_t i = 0; i < c.size(); ++i) REQUIRE(c[i] == want[i]);
        } else {
          check_close(c.data(), want.data(), c.size(), 1e-5 * (1 + s.k), "gemm");
        }
      }
    }
  });
}

TEST_CASE("column panels: layout of a panelled matrix", "[kernels][gemm]") {
  // 3 x 70: panels of 32, 32 and 6 columns, each a row-major block, one after another.
  std::vector<int> seen(3 * 70, 0);
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = 0; j < 70; ++j) ++seen.at(kernels::panel_index(i, j, 3, 70));
  }
  for (int count : seen) REQUIRE(count == 1);
  REQUIRE(kernels::panel_index(0, 31, 3, 70) == 31);
  REQUIRE(kernels::panel_index(1, 0, 3, 70) == 32);
  REQUIRE(kernels::panel_index(0, 32, 3, 70) == 96);
  REQUIRE(kernels::panel_index(2, 69, 3, 70) == 192 + 2 * 6 + 5);
  // At most kPanelCols columns: plain row-major.
  REQUIRE(kernels::panel_index(4, 9, 7, 10) == 4 * 10 + 9);
}

TEST_CASE("gemm with Adam fused matches its scalar twin", "[kernels][gemm][optimizer]") {
  const std::vector<Shape> shapes = {{784, 64, 32}, {40, 70, 13}, {17, 10, 5},
                                     {9, 33, 1},    {12, 20, 3},   {3, 7, 4}};
  for_each_target([&](const std::string& target) {
    std::mt19937 gen(11);
    for (const Shape& s : shapes) {
      for (const bool panels : {false, true}) {
        FloatBuffer x = random_buffer(s.k * s.m, gen), dy = random_buffer(s.k * s.n, gen);
        FloatBuffer p = random_buffer(s.m * s.n, gen), m = random_buffer(s.m * s.n, gen);
        FloatBuffer v = random_buffer(s.m * s.n, gen, 0, 1);
        FloatBuffer p2 = p, m2 = m, v2 = v;
        kernels::GemmArgs g;  // dW = x^T . dy, as in a backward pass
        g.m = s.m, g.n = s.n, g.k = s.k;
        g.a = x.data(), g.a_row_stride = 1, g.a_col_stride = s.m;
        g.b = dy.data(), g.ldb = s.n;
        g.ldc = s.n, g.c_panels = panels;
        kernels::AdamArgs args;
        args.alpha = 1e-3f;
        kernels::FusedAdam fused{args, p2.data(), m2.data(), v2.data()};
        g.adam = &fused;
        scalar::gemm(g);
        fused = {args, p.data(), m.data(), v.data()};
        for (int part = 0; part < 2; ++part) kernels::gemm(g, {part, 2});
        INFO(target << " m=" << s.m << " n=" << s.n << " k=" << s.k << " panels " << panels);
        const double tol = fuses_multiply_add() ? 0 : 1e-5;
        check_close(p.data(), p2.data(), p.size(), tol, "param");
        check_close(m.data(), m2.data(), m.size(), tol, "m");
        check_close(v.data(), v2.data(), v.size(), tol, "v");
      }
    }
  });
}

TEST_CASE("gemm writes nothing outside its output", "[kernels][gemm]") {
  for_each_target([&](const std::string& target) {
    std::mt19937 gen(3);
    // A partial strip (n = 19), and whole strips with a short k (the register-B path).
    for (const Shape& s : {Shape{5, 19, 7}, Shape{5, 32, 7}, Shape{11, 64, 10}}) {
      const size_t m = s.m, n = s.n, k = s.k, ldc = n + 8;
      FloatBuffer a = random_buffer(m * k, gen), b = random_buffer(k * n, gen);
      FloatBuffer c((m + 1) * ldc);
      for (auto& x : c) x = 42.0f;
      kernels::GemmArgs g;
      g.m = m, g.n = n, g.k = k, g.a = a.data(), g.a_row_stride = k, g.b = b.data(), g.ldb = n;
      g.c = c.data(), g.ldc = ldc;
      for (int p = 0; p < 2; ++p) kernels::gemm(g, {p, 2});
      INFO(target << " m=" << m << " n=" << n << " k=" << k);
      for (size_t i = 0; i <= m; ++i) {
        for (size_t j = i < m ? n : 0; j < ldc; ++j) REQUIRE(c[i * ldc + j] == 42.0f);
      }
    }
  });
}

TEST_CASE("softmax cross-entropy matches its scalar twin", "[kernels]") {
  for_each_target([&](const std::string& target) {
    std::mt19937 gen(11);
    for (size_t classes : {1, 2, 10, 16, 17, 40}) {
      const size_t rows = 13;
      FloatBuffer z = random_buffer(rows * classes, gen, -20, 20);
      std::vector<uint8_t> labels(rows);
      for (size_t i = 0; i < rows; ++i) labels[i] = static_cast<uint8_t>(gen() % classes);
      FloatBuffer grad(rows * classes), want_grad(rows * classes);
      std::vector<float> loss(rows), want_loss(rows);
      std::vector<int32_t> pred(rows), want_pred(rows);
      scalar::softmax_xent(z.data(), rows, classes, classes, labels.data(), 0.25f,
                           want_grad.data(), want_loss.data(), want_pred.data());
      kernels::softmax_xent(z.data(), rows, classes, classes, labels.data(), 0.25f, grad.data(),
                            loss.data(), pred.data(), {0, 2});
      kernels::softmax_xent(z.data(), rows, classes, classes, labels.data(), 0.25f, grad.data(),
                            loss.data(), pred.data(), {1, 2});
      INFO(target << " classes=" << classes);
      REQUIRE(pred == want_pred);
      check_close(loss.data(), want_loss.data(), rows, 1e-5, "loss");
      check_close(grad.data(), want_grad.data(), grad.size(), 1e-5, "grad");
      // Gradient rows of softmax - onehot sum to zero.
      for (size_t i = 0; i < rows; ++i) {
        double sum = 0;
        for (size_t j = 0; j < classes; ++j) sum += grad[i * classes + j];
        REQUIRE(std::abs(sum) < 1e-6);
      }
    }
  });
}

TEST_CASE("softmax cross-entropy is stable for huge logits", "[kernels]") {
  for_each_target([&](const std::string&) {
    FloatBuffer zb(3);
    zb[0] = 1000.0f, zb[1] = -1000.0f, zb[2] = 999.0f;
    const float* z = zb.data();
    const uint8_t label = 2;
    float loss = 0;
    FloatBuffer grad(3);
    int32_t pred = -1;
    kernels::softmax_xent(z, 1, 3, 3, &label, 1.0f, grad.data(), &loss, &pred, {0, 1});
    REQUIRE(pred == 0);
    REQUIRE(loss == Approx(std::log1p(std::exp(-1.0)) + 1.0).epsilon(1e-5));
    REQUIRE(std::isfinite(grad[0]));
  });
}

TEST_CASE("column sums, transposes and the finiteness check match their twins", "[kernels]") {
  for_each_target([&](const std::string&) {
    std::mt19937 gen(5);
    for (size_t cols : {1, 7, 16, 33, 512}) {
      const size_t rows = 9;
      FloatBuffer x = random_buffer(rows * cols, gen), sums(cols), want(cols);
      scalar::column_sums(x.data(), rows, cols, cols, want.data());
      for (int p = 0; p < 2; ++p) kernels::column_sums(x.data(), rows, cols, cols, sums.data(), {p, 2});
      for (size_t j = 0; j < cols; ++j) REQUIRE(sums[j] == want[j]);

      FloatBuffer t(rows * cols), want_t(rows * cols);
      scalar::transpose(x.data(), rows, cols, want_t.data());
      for (int p = 0; p < 3; ++p) kernels::transpose(x.data(), rows, cols, t.data(), {p, 3});
      for (size_t i = 0; i < t.size(); ++i) REQUIRE(t[i] == want_t[i]);

      REQUIRE_FALSE(kernels::any_non_finite(x.data(), x.size()));
      x[x.size() - 1] = std::numeric_limits<float>::infinity();
      REQUIRE(kernels::any_non_finite(x.data(), x.size()));
      x[x.size() - 1] = std::nanf("");
      REQUIRE(kernels::any_non_finite(x.data(), x.size()));
    }
  });
}

TEST_CASE("gather_pixels gives every byte / 255 exactly as float division rounds it", "[kernels]") {
  for_each_target([&](const std::string&) {
    std::mt19937 gen(9);
    for (size_t features : {1, 7, 16, 33, 256, 784}) {
      const size_t samples = 300;  // every byte value occurs, at every lane position
      AlignedBuffer<uint8_t> pixels(samples * features);
      for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7 + i / 256);
      const size_t rows = 11;
      std::vector<uint32_t> indices(rows);
      std::uniform_int_distribution<uint32_t> pick(0, samples - 1);
      for (auto& i : indices) i = pick(gen);
      indices[0] = samples - 1;  // the last row: its tail ends at the buffer's end

      FloatBuffer got(rows * features), want(rows * features);
      scalar::gather_pixels(pixels.data(), features, indices.data(), rows, want.data());
      for (int p = 0; p < 3; ++p) {  // the last part with streaming stores
        kernels::gather_pixels(pixels.data(), features, indices.data(), rows, got.data(), {p, 3},
                               p == 2);
      }
      for (size_t i = 0; i < rows; ++i) {
        for (size_t f = 0; f < features; ++f) {
          const uint8_t byte = pixels[indices[i] * features + f];
          INFO("features " << features << " row " << i << " pixel " << f << " byte " << int(byte));
          REQUIRE(want[i * features + f] == static_cast<float>(byte) / 255.0f);
          REQUIRE(got[i * features + f] == want[i * features + f]);
        }
      }
    }
    // All 256 values in one row, so each goes through the vector path.
    AlignedBuffer<uint8_t> all(256);
    for (size_t i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
    const uint32_t row = 0;
    FloatBuffer out(256);
    kernels::gather_pixels(all.data(), 256, &row, 1, out.data(), {});
    for (size_t i = 0; i < 256; ++i) {
      INFO("byte " << i);
      REQUIRE(out[i] == static_cast<float>(i) / 255.0f);
    }
  });
}

TEST_CASE("adam and sgd match their twins", "[kernels][optimizer]") {
  for_each_target([&](const std::string& target) {
    std::mt19937 gen(9);
    for (size_t n : {1, 15, 16, 17, 1000}) {
      FloatBuffer p = random_buffer(n, gen), g = random_buffer(n, gen);
      FloatBuffer m = random_buffer(n, gen, 0, 0.1f), v = random_buffer(n, gen, 0, 0.1f);
      FloatBuffer p2 = p, m2 = m, v2 = v;
      kernels::AdamArgs a;
      a.alpha = 1e-3f;
      scalar::adam(p2.data(), g.data(), m2.data(), v2.data(), n, a);
      for (int part = 0; part < 2; ++part) kernels::adam(p.data(), g.data(), m.data(), v.data(), n, a, {part, 2});
      INFO(target << " n=" << n);
      const double tol = fuses_multiply_add() ? 0 : 1e-6;  // exact where FMAs are promised
      check_close(m.data(), m2.data(), n, tol, "m");
      check_close(v.data(), v2.data(), n, tol, "v");
      check_close(p.data(), p2.data(), n, tol, "param");

      for (float momentum : {0.0f, 0.9f}) {
        for (bool nesterov : {false, true}) {
          FloatBuffer q = random_buffer(n, gen), vel = random_buffer(n, gen);
          FloatBuffer q2 = q, vel2 = vel;
          kernels::SgdArgs s{0.1f, momentum, nesterov};
          scalar::sgd(q2.data(), g.data(), vel2.data(), n, s);
          kernels::sgd(q.data(), g.data(), vel.data(), n, s, {0, 1});
          check_close(q.data(), q2.data(), n, tol, "sgd param");
          if (momentum > 0) check_close(vel.data(), vel2.data(), n, tol, "sgd velocity");
        }
      }
    }
  });
}

TEST_CASE("the FMA peak loop counts its flops", "[kernels]") {
  // Expected from outside the loop's constants: per iteration, a whole number of full-width
  // vector FMAs (2 flops a lane), at least latency (4) x ports (2) = 8 independent chains, and
  // linear in the iterations. Lanes of a float vector by target, from the ISA's register width.
  for_each_target([&](const std::string& target) {
    const size_t bits = target.rfind("AVX3", 0) == 0 ? 512 : target == "AVX2" ? 256
                        : target == "SCALAR"          ? 32
                                                      : 128;  // SSE4, SSSE3, EMU128, NEON
    const double lanes = bits / 32.0;
    const double per_iteration = kernels::fma_peak_loop(10) / 10;
    const double chains = per_iteration / (2 * lanes);
    INFO(target << ": " << per_iteration << " flops an iteration, " << lanes << " lanes");
    REQUIRE(chains == std::floor(chains));
    REQUIRE(chains >= 8);
    REQUIRE(kernels::fma_peak_loop(1000) == 100 * kernels::fma_peak_loop(10));
  });
}

TEST_CASE("the GEMM tile divides a weight panel", "[kernels]") {
  for_each_target([&](const std::string& target) {
    const auto tile = kernels::gemm_tile();
    INFO(target << ": tile " << tile.rows << "x" << tile.cols);
    REQUIRE(tile.rows >= 1);
    REQUIRE(kernels::kPanelCols % tile.cols == 0);
  });
}

TEST_CASE("targets from AVX2 on fuse multiply-add, the older and emulated ones do not", "[kernels]") {
  for_each_target([](const std::string& target) {
    const bool older = target == "SSE4" || target == "SSSE3" || target == "SSE2" ||
                       target == "EMU128" || target == "SCALAR";
    const bool x86_fma = target == "AVX2" || target.rfind("AVX3", 0) == 0;
    if (older) CHECK_FALSE(mlpbench::kernels::active_target_fuses_multiply_add());
    if (x86_fma) CHECK(mlpbench::kernels::active_target_fuses_multiply_add());
  });
}

}  // namespace test_kernels
