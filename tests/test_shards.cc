// Micro-shards: a batch's gradients summed per shard and combined by a fixed pairwise tree.
// The numbers must not depend on threads, and must equal the tree of the shards' gradients
// computed apart (what separate processes compute), and a float64 gradient to rounding.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "mlpbench/dataset.h"
#include "mlpbench/errors.h"
#include "mlpbench/experiment.h"
#include "mlpbench/kernels.h"
#include "mlpbench/kernels_scalar.h"
#include "mlpbench/model.h"
#include "mlpbench/parallel.h"
#include "mlpbench/trainer.h"
#include "test_support.h"

namespace test_shards {

using namespace mlpbench;

namespace {

using test_support::for_each_target;
using test_support::random_buffer;
using test_support::same_numbers;




bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

}  // namespace

TEST_CASE("shard bounds depend on the batch size and shard count only", "[shards]") {
  REQUIRE(shard_bounds(32, 32, 4) == std::vector<size_t>{0, 8, 16, 24, 32});
  REQUIRE(shard_bounds(18, 32, 4) == std::vector<size_t>{0, 8, 16, 18, 18});  // a partial batch
  REQUIRE(shard_bounds(5, 32, 4) == std::vector<size_t>{0, 5, 5, 5, 5});
  REQUIRE(shard_bounds(10, 10, 4) == std::vector<size_t>{0, 2, 5, 7, 10});
  REQUIRE(shard_bounds(7, 7, 1) == std::vector<size_t>{0, 7});
}

// Shard s of k rows x shards: [s k / shards, (s + 1) k / shards).
static std::vector<size_t> even_bounds(size_t k, size_t shards) {
  std::vector<size_t> bounds;
  for (size_t s = 0; s <= shards; ++s) bounds.push_back(s * k / shards);
  return bounds;
}

TEST_CASE("a sharded gemm sums each shard alone and combines them by the pairwise tree", "[shards][kernels]") {
  struct Case {
    size_t m, n, k;
    std::vector<size_t> bounds;
  };
  const std::vector<Case> cases = {{784, 64, 32, {0, 8, 16, 24, 32}},
                                   {33, 47, 18, {0, 8, 16, 18, 18}},
                                   {9, 10, 5, {0, 5, 5, 5, 5}},
                                   {17, 40, 32, {0, 4, 8, 12, 16, 20, 24, 28, 32}},
                                   {1, 35, 11, {0, 6, 11}},
                                   // tiles of 7 and 6 rows (split into register row groups)
                                   // and trees deeper than the registers hold (16, 32 shards)
                                   {7, 40, 32, even_bounds(32, 16)},
                                   {14, 19, 40, even_bounds(40, 32)}};
  for_each_target([&](const std::string& target) {
    std::mt19937 gen(11);
    for (const Case& s : cases) {
      for (int fused = 0; fused < 2; ++fused) {
        FloatBuffer a = random_buffer(s.m * s.k + 1, gen), b = random_buffer(s.k * s.n + 1, gen);
        FloatBuffer c(s.m * s.n), want(s.m * s.n);
        kernels::GemmArgs g;
        g.m = s.m, g.n = s.n, g.k = s.k;
        g.a = a.data(), g.a_row_stride = 1, g.a_col_stride = s.m;  // x^T, as a weight gradient
        g.b = b.data(), g.ldb = s.n;
        g.c_panels = true;
        g.k_shards = s.bounds.size() - 1, g.k_bounds = s.bounds.data();
        g.c = want.data();
        scalar::gemm(g);
        g.c = c.data();
        for (int p = 0; p < 3; ++p) kernels::gemm(g, {p, 3});
        INFO(target << " m=" << s.m << " n=" << s.n << " shards " << g.k_shards);
        // The tree by hand: every shard alone (k = its rows), then pairs, lower shard left.
        std::vector<FloatBuffer> parts;
        for (size_t sh = 0; sh + 1 < s.bounds.size(); ++sh) {
          FloatBuffer part(s.m * s.n);
          kernels::GemmArgs one = g;
          one.k_shards = 1, one.k_bounds = nullptr;
          one.k = s.bounds[sh + 1] - s.bounds[sh];
          one.a = a.data() + s.bounds[sh] * s.m;
          one.b = b.data() + s.bounds[sh] * s.n;
          one.c = part.data();
          kernels::gemm(one, {0, 1});
          parts.push_back(std::move(part));
        }
        for (size_t d = 1; d < parts.size(); d *= 2) {
          for (size_t i = 0; i + d < parts.size(); i += 2 * d) {
            for (size_t e = 0; e < c.size(); ++e) parts[i][e] = parts[i][e] + parts[i + d][e];
          }
        }
        REQUIRE(same_bits(c.data(), parts[0].data(), c.size()));
        if (test_support::fuses_multiply_add()) REQUIRE(same_bits(c.data(), want.data(), c.size()));
        if (fused) {  // Adam in the epilogue: bitwise the flat update of the tree's sums
          FloatBuffer p0 = random_buffer(s.m * s.n, gen), m0 = random_buffer(s.m * s.n, gen),
                      v0 = random_buffer(s.m * s.n, gen, 0, 1);
          FloatBuffer p1 = p0, m1 = m0, v1 = v0;
          kernels::FusedAdam f;
          f.args.alpha = 1e-3f, f.param = p1.data(), f.m = m1.data(), f.v = v1.data();
          kernels::GemmArgs ga = g;
          ga.adam = &f;
          for (int p = 0; p < 2; ++p) kernels::gemm(ga, {p, 2});
          kernels::adam(p0.data(), c.data(), m0.data(), v0.data(), c.size(), f.args, {0, 1});
          REQUIRE(same_bits(p0.data(), p1.data(), p0.size()));
          REQUIRE(same_bits(m0.data(), m1.data(), m0.size()));
          REQUIRE(same_bits(v0.data(), v1.data(), v0.size()));
        }
      }
    }
  });
}

namespace {

// Float64 forward and backward of the mean loss over `rows` rows: the gradient with respect to
// every parameter, in the model's layout.
std::vector<double> reference_gradient(const Mlp& model, const float* x, const uint8_t* labels,
                                       size_t rows) {
  const auto& layers = model.layers();
  std::vector<double> grad(model.params().size(), 0.0);
  for (size_t i = 0; i < rows; ++i) {
    std::vector<std::vector<double>> acts{std::vector<double>(x + i * model.inputs(), x + (i + 1) * model.inputs())};
    for (size_t l = 0; l < layers.size(); ++l) {
      std::vector<double> y(layers[l].out);
      for (size_t j = 0; j < layers[l].out; ++j) {
        double s = model.bias(l)[j];
        for (size_t p = 0; p < layers[l].in; ++p) s += acts[l][p] * model.params()[model.weight_index(l, p, j)];
        y[j] = layers[l].relu() ? std::max(0.0, s) : s;
      }
      acts.push_back(y);
    }
    std::vector<double> dy = acts.back();  // softmax - onehot, / rows
    const double zmax = *std::max_element(dy.begin(), dy.end());
    double sum = 0;
    for (double& z : dy) sum += (z = std::exp(z - zmax));
    for (size_t j = 0; j < dy.size(); ++j) dy[j] = (dy[j] / sum - (j == labels[i])) / rows;
    for (size_t l = layers.size(); l-- > 0;) {
      std::vector<double> dx(layers[l].in, 0.0);
      for (size_t j = 0; j < layers[l].out; ++j) {
        grad[layers[l].bias_offset + j] += dy[j];
        for (size_t p = 0; p < layers[l].in; ++p) {
          grad[model.weight_index(l, p, j)] += acts[l][p] * dy[j];
          dx[p] += model.params()[model.weight_index(l, p, j)] * dy[j];
        }
      }
      if (l > 0 && layers[l - 1].relu()) {
        for (size_t p = 0; p < dx.size(); ++p) dx[p] = acts[l][p] > 0 ? dx[p] : 0;
      }
      dy = dx;
    }
  }
  return grad;
}

// The parameter gradients of `rows` rows (shards cut by `bounds` when given) of a batch of
// `global_rows` rows.
std::vector<float> gradient(const Mlp& model, const float* x, const uint8_t* labels, size_t rows,
                            size_t global_rows, const std::vector<size_t>& bounds, int threads) {
  Workspace ws(model, std::max<size_t>(rows, 1));
  ws.shard_bounds = bounds;
  std::vector<float> out(model.params().size(), 0.0f);
  if (rows == 0) return out;  // an empty shard contributes zeros
  std::copy(x, x + rows * model.inputs(), ws.input.data());
  std::copy(labels, labels + rows, ws.labels.data());
  ws.grads.fill_zero();
  run_team(threads, [&](Team& team) {
    forward(model, ws, rows, team);
    loss_and_delta(model, ws, ws.labels.data(), rows, global_rows, team);
    transpose_weights(model, ws, team);
    backward(model, ws, rows, team);
  });
  std::copy(ws.grads.begin(), ws.grads.end(), out.begin());
  return out;
}

}  // namespace

TEST_CASE("sharded gradients: the shards' tree, equal to float64 to rounding, for any team", "[shards]") {
  Mlp model(784, {{48, Activation::kRelu}, {20, Activation::kRelu}, {10, Activation::kSoftmax}});
  model.init_glorot(3);
  std::mt19937 gen(5);
  const size_t batch = 32;
  for (size_t rows : {size_t{32}, size_t{18}}) {  // a full and a partial batch
    FloatBuffer x = random_buffer(rows * 784, gen, 0, 1);
    std::vector<uint8_t> labels(rows);
    for (auto& l : labels) l = static_cast<uint8_t>(gen() % 10);
    for (size_t shards : {size_t{2}, size_t{4}, size_t{8}}) {
      INFO("rows " << rows << ", shards " << shards);
      const auto bounds = shard_bounds(rows, batch, shards);
      const std::vector<float> whole = gradient(model, x.data(), labels.data(), rows, rows, bounds, 1);
      // Threads do not change a bit.
      REQUIRE(whole == gradient(model, x.data(), labels.data(), rows, rows, bounds, 2));
      REQUIRE(whole == gradient(model, x.data(), labels.data(), rows, rows, bounds, 3));
      // Each shard apart (as its own process would), combined by the tree.
      std::vector<std::vector<float>> parts;
      for (size_t s = 0; s < shards; ++s) {
        const size_t r0 = bounds[s], r1 = bounds[s + 1];
        parts.push_back(gradient(model, x.data() + r0 * 784, labels.data() + r0, r1 - r0, rows, {0, r1 - r0}, 1));
      }
      for (size_t d = 1; d < shards; d *= 2) {
        for (size_t i = 0; i + d < shards; i += 2 * d) {
          for (size_t e = 0; e < whole.size(); ++e) parts[i][e] = parts[i][e] + parts[i + d][e];
        }
      }
      REQUIRE(same_bits(whole.data(), parts[0].data(), whole.size()));
      // And the mathematics: float64 of the same model and rows.
      const std::vector<double> want = reference_gradient(model, x.data(), labels.data(), rows);
      double worst = 0;
      for (size_t e = 0; e < whole.size(); ++e) worst = std::max(worst, std::abs(whole[e] - want[e]));
      REQUIRE(worst < 1e-6);
    }
  }
}

TEST_CASE("training with shards is bitwise identical for 1, 2 and 3 threads and learns", "[shards][training][determinism]") {
  for (const OptimizerKind optimizer : {OptimizerKind::kAdam, OptimizerKind::kSgd}) {
    Experiment e;
    e.name = "tiny";
    e.model = {{24, Activation::kRelu}, {16, Activation::kRelu}, {10, Activation::kSoftmax}};
    e.epochs = 2;
    e.batch_size = 32;
    e.seed = 5;
    e.optimizer.kind = optimizer;
    if (optimizer == OptimizerKind::kSgd) e.optimizer.learning_rate = 0.05, e.optimizer.momentum = 0.9;
    INFO(optimizer_name(optimizer));
    const test_support::TrainOutcome unsharded = test_support::train_tiny(e, 2);
    e.shards = 4;
    const test_support::TrainOutcome one = test_support::train_tiny(e, 1);
    REQUIRE(same_numbers(one, test_support::train_tiny(e, 2)));
    REQUIRE(same_numbers(one, test_support::train_tiny(e, 3)));
    REQUIRE_FALSE(same_numbers(one, unsharded));  // a different sum, not the default engine's
    REQUIRE(one.history.back().test_accuracy > 0.8);
    REQUIRE(std::abs(one.history.back().train_loss - unsharded.history.back().train_loss) < 1e-3);
  }
}

TEST_CASE("the shards key: a power of two, at most the batch size, in the resolved experiment", "[shards][experiment]") {
  auto with_shards = [](const std::string& shards) {
    return R"({"name": "x", "dataset": "mnist", "model": [{"units": 10, "activation": "softmax"}],
               "loss": "sparse_categorical_crossentropy", "optimizer": "adam", "epochs": 1,
               "batch_size": 32, "shards": )" + shards + "}";
  };
  const Experiment e = parse_experiment(with_shards("8"), "x.json");
  REQUIRE(e.shards == 8);
  REQUIRE(parse_experiment(e.to_json(), "x.json") == e);
  for (const char* bad : {"3", "0", "64", "2048", "1.5", "\"4\""}) {
    INFO(bad);
    try {
      parse_experiment(with_shards(bad), "x.json");
      FAIL("accepted shards " << bad);
    } catch (const ConfigError& err) {
      REQUIRE(std::string(err.what()).find("x.json: /shards") != std::string::npos);
    }
  }
  Experiment ok = e;
  ok.shards = 6;
  REQUIRE_THROWS_AS(validate_experiment(ok, "cli"), ConfigError);
}

}  // namespace test_shards
