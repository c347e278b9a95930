// mlp_bench: Google Benchmark binary for the engine (docs/benchmarks.md).
//
// What is measured:
//   BM_GemmForward / BM_GemmWeightGrad / BM_GemmInputGrad   every GEMM of a training step of
//       model A (784-512-10) and model B (784-64-32-10) at batch 32 and 256, with the engine's
//       own operand layouts and epilogues (bias+ReLU forward, transposed-A weight gradient,
//       masked input gradient against the transposed weights);
//   BM_GemmWeightGradAdam  the weight-gradient GEMM with Adam applied to each tile in
//       registers, as the training step runs it (GFLOPS count the GEMM's flops only);
//   BM_GemmSquare        one large square GEMM, 1024x1024x1024;
//   BM_TrainStep         one whole training step (Trainer::run's sequence, minus the gather);
//                        with /shards:S (2, 4, 8) the batch cut into S micro-shards summed by
//                        the fixed pairwise tree (the experiment key `shards`), against the
//                        plain name (S = 1): the single-process price of rank-independence;
//   BM_Evaluate          a 10,000-sample evaluation of model A in chunks of 1,000;
//   BM_GatherBatch       gathering a batch of random rows of an MNIST-sized byte dataset into
//                        floats (BM_GatherBatchFloatCopy: from a float copy, the old way);
//   BM_Adam              the Adam update over model A's (and B's) parameters;
//   BM_SoftmaxXent       softmax cross-entropy with gradient at 32x10 and 256x10;
//   BM_FmaPeak           the FMA peak of the team (fma_peak_loop on every thread);
//   BM_TeamBarrier       one barrier of the team;
//   BM_Bandwidth         STREAM-like copy, triad and sum over working sets sized to each cache
//                        level and DRAM (bandwidth.cc), bytes_per_second.
// GEMM-bearing benchmarks report GFLOPS (GFLOP/s, 2 flops per multiply-add); steps and
// evaluation report samples_per_second; Adam reports GBps (28 bytes per parameter per update:
// p, g, m, v read and p, m, v written). GEMMs, steps and Adam also report their work counted
// from the shapes, for the roofline: flops_per_iteration, bytes_per_iteration (the minimum
// traffic) and working_set_bytes (work_counts.h).
//
// Flags (stripped before Google Benchmark sees the rest):
//   --threads=N          team size, 1 to 1024 (default: $MLPBENCH_THREADS, else
//                        mlpbench::available_cpus())
//   --simd-target=NAME   restrict dispatch to one Highway target (AVX2, SSE4, EMU128, ...);
//                        `all` registers every benchmark once per supported target, with the
//                        target as the last part of the name (BM_GemmForward/m:32/.../AVX2).
//
// How the team is timed: the engine runs every kernel on a team of OpenMP threads (run_team),
// each computing its Part, separated by barriers. Forking a team per benchmark iteration would
// measure OpenMP fork/join, not the kernel, so each benchmark opens ONE run_team for its whole
// timing loop (see team_loop below): the leader (OpenMP thread 0, i.e. the benchmark's own
// thread) drives `for (auto _ : state)`, the other threads run the same number of iterations,
// which Google Benchmark fixes before the loop starts (state.max_iterations). Every iteration
// ends with team.sync(), exactly as each phase of the engine does, so iterations don't overlap
// and the leader's clock stops only once every thread has finished its last iteration. No
// extra flag or barrier is needed per iteration; what is timed is the kernel plus its one
// barrier, the same cost it has inside a real step. Wall time is reported (UseRealTime).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>
#include <unistd.h>

#include "bandwidth.h"
#include "bench_support.h"
#include "benchmark_out.h"
#include "work_counts.h"
#include "mlpbench/build_info.h"
#include "mlpbench/experiment.h"
#include "mlpbench/kernels.h"
#include "mlpbench/model.h"
#include "mlpbench/optimizer.h"
#include "mlpbench/parallel.h"
#include "mlpbench/step.h"
#include "mlpbench/tensor.h"

namespace {

using benchmark::Counter;
using benchmark::State;
using mlpbench::FloatBuffer;
using mlpbench::Team;
using enum mlpbench::Activation;
namespace kernels = mlpbench::kernels;

constexpr size_t kInputs = 784;
constexpr size_t kClasses = 10;

int g_threads = 1;  // team size for every benchmark, set once in main()

// ---- Helpers ------------------------------------------------------------------------------

struct ModelDef {
  const char* name;  // as it appears in benchmark names, e.g. "784-512-10"
  std::vector<mlpbench::LayerSpec> layers;
};

const std::vector<ModelDef>& reference_models() {
  static const std::vector<ModelDef> models = {
      {"784-512-10", {{512, kRelu}, {10, kSoftmax}}},             // model A
      {"784-64-32-10", {{64, kRelu}, {32, kRelu}, {10, kSoftmax}}},  // model B
  };
  return models;
}

// "BM_What/key:value/.../TARGET". The names are built here rather than with Args/ArgNames
// because Google Benchmark appends arguments after the whole family name, so a per-target
// suffix could not come after the sizes otherwise.
std::string bench_name(const std::string& what,
                       const std::vector<std::pair<std::string, size_t>>& sizes,
                       const std::string& target, const std::string& model = "") {
  std::string name = what;
  if (!model.empty()) name += "/" + model;
  for (const auto& [key, value] : sizes) name += "/" + key + ":" + std::to_string(value);
  if (!target.empty()) name += "/" + target;
  return name;
}

void fill_uniform(FloatBuffer& buf, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& x : buf) x = dist(rng);
}

// Pixel-like bytes: uniform over 0..255.
void fill_bytes(uint8_t* bytes, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(rng() >> 24);
}

void fill_labels(uint8_t* labels, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(0, static_cast<int>(kClasses) - 1);
  for (size_t i = 0; i < n; ++i) labels[i] = static_cast<uint8_t>(dist(rng));
}

// Selects `target` for this benchmark (only with --simd-target=all; empty: keep the global
// choice). Must run before the team starts. False (and the benchmark skipped) on failure.
bool select_target(State& state, const std::string& target) {
  if (target.empty()) return true;
  if (kernels::select_simd_target(target)) return true;
  state.SkipWithError(("cannot select SIMD target " + target).c_str());
  return false;
}

void set_rate(State& state, const char* name, double per_iteration) {
  mlpbench::bench::set_rate(state, name, per_iteration);
}

// Every benchmark's team has g_threads threads.
template <typename Iteration>
void team_loop(State& state, Iteration&& iteration) {
  mlpbench::bench::team_loop(state, g_threads, std::forward<Iteration>(iteration));
}

// ---- GEMMs ----------------------------------------------------------------------------------

enum class GemmKind { kForward, kWeightGrad, kWeightGradAdam, kInputGrad, kSquare };

struct GemmCase {
  GemmKind kind;
  size_t m, n, k;
  bool relu = false;  // forward: ReLU epilogue (hidden layers)
  bool mask = false;  // input gradient: masked by ReLU' of the layer below's output
};

// C[m x n] = op(A)[m x k] . B[k x n], with the operands laid out as the engine lays them out.
void BM_Gemm(State& state, GemmCase c, const std::string& target) {
  if (!select_target(state, target)) return;
  FloatBuffer a(c.m * c.k), b(c.k * c.n), out(c.m * c.n), bias(c.n), mask;
  fill_uniform(a, -1, 1, 1);
  fill_uniform(b, -1, 1, 2);
  fill_uniform(bias, -0.1f, 0.1f, 3);

  FloatBuffer adam_state;
  kernels::FusedAdam fused;
  kernels::GemmArgs g;
  g.m = c.m, g.n = c.n, g.k = c.k;
  g.a = a.data();
  g.b = b.data(), g.ldb = c.n;
  g.c = out.data(), g.ldc = c.n;
  switch (c.kind) {
    case GemmKind::kForward:  // Y = X.W + bias, X [batch x in] as stored
      g.a_row_stride = c.k, g.a_col_stride = 1;
      g.bias = bias.data();
      g.relu = c.relu;
      g.b_panels = true;  // W in column panels
      break;
    case GemmKind::kWeightGrad:  // dW = X^T.dY: a holds X [batch x in] = [k x m]
    case GemmKind::kWeightGradAdam:  // the same with Adam applied to dW in registers
      g.a_row_stride = 1, g.a_col_stride = c.m;
      g.c_panels = true;  // dW in column panels, like W
      if (c.kind == GemmKind::kWeightGradAdam) {
        adam_state.resize(3 * c.m * c.n);
        fill_uniform(adam_state, 0, 0.01f, 5);  // W, m, v (v >= 0)
        fused.args.alpha = 1e-3f;
        fused.param = adam_state.data();
        fused.m = adam_state.data() + c.m * c.n;
        fused.v = adam_state.data() + 2 * c.m * c.n;
        g.adam = &fused;
      }
      break;
    case GemmKind::kInputGrad:  // dX = (dY.W^T) masked: a = dY [batch x out], b = W^T
      g.a_row_stride = c.k, g.a_col_stride = 1;
      if (c.mask) {
        mask.resize(c.m * c.n);  // the layer below's activations: about half are zero
        fill_uniform(mask, -1, 1, 4);
        for (float& x : mask) x = std::max(x, 0.0f);
        g.mask = mask.data(), g.ldmask = c.n;
      }
      break;
    case GemmKind::kSquare:
      g.a_row_stride = c.k, g.a_col_stride = 1;
      break;
  }

  team_loop(state, [&](Team& team, uint64_t) { kernels::gemm(g, team.part()); });
  set_rate(state, "GFLOPS", 2.0 * c.m * c.n * c.k * 1e-9);
  mlpbench::bench::set_work_counters(
      state, mlpbench::bench::gemm_counts(c.m, c.n, c.k, g.bias != nullptr, g.mask != nullptr,
                                          g.adam != nullptr));
}

// Every GEMM of a training step of both reference models at batch 32 and 256, plus the
// square one; shapes come from the engine's own Mlp.
std::vector<std::pair<std::string, GemmCase>> gemm_cases() {
  std::vector<std::pair<std::string, GemmCase>> fwd, wgrad, wgrad_adam, igrad;
  for (const ModelDef& def : reference_models()) {
    const mlpbench::Mlp model(kInputs, def.layers);
    const auto& layers = model.layers();
    for (size_t batch : {32, 256}) {
      for (size_t l = 0; l < layers.size(); ++l) {
        const mlpbench::DenseLayer& layer = layers[l];
        fwd.push_back({"BM_GemmForward",
                       {GemmKind::kForward, batch, layer.out, layer.in, layer.relu(), false}});
        wgrad.push_back({"BM_GemmWeightGrad",
                         {GemmKind::kWeightGrad, layer.in, layer.out, batch, false, false}});
        wgrad_adam.push_back({"BM_GemmWeightGradAdam", {GemmKind::kWeightGradAdam, layer.in,
                                                         layer.out, batch, false, false}});
        if (l > 0) {
          igrad.push_back({"BM_GemmInputGrad", {GemmKind::kInputGrad, batch, layer.in,
                                                layer.out, false, layers[l - 1].relu()}});
        }
      }
    }
  }
  std::vector<std::pair<std::string, GemmCase>> all;
  for (auto* group : {&fwd, &wgrad, &wgrad_adam, &igrad}) all.insert(all.end(), group->begin(), group->end());
  all.push_back({"BM_GemmSquare", {GemmKind::kSquare, 1024, 1024, 1024, false, false}});
  return all;
}

// ---- Training step and evaluation ---------------------------------------------------------

// Trainer::run's step: train_step (step.h) with the trainer's running loss/accuracy sums. The
// gather of the next batch is left out: the batch is random data filled once. `fused` false
// measures the unfused baseline (BM_TrainStepUnfused): the plain phases on the whole team,
// backward, then a flat Adam pass.
void BM_TrainStep(State& state, const ModelDef& def, size_t batch, const std::string& target,
                  bool fused, size_t shards = 1) {
  if (!select_target(state, target)) return;
  mlpbench::Mlp model(kInputs, def.layers);
  model.init_glorot(1);
  mlpbench::Optimizer optimizer(mlpbench::OptimizerSpec{}, model.params().size());  // Adam
  mlpbench::Workspace ws(model, batch);
  fill_uniform(ws.input, 0, 1, 5);
  fill_labels(ws.labels.data(), batch, 6);
  if (shards > 1) ws.shard_bounds = mlpbench::shard_bounds(batch, batch, shards);  // as Trainer::run

  double loss_sum = 0;
  uint64_t correct = 0;
  mlpbench::StepHooks hooks;
  hooks.after_loss = [&] {
    for (size_t r = 0; r < batch; ++r) {
      loss_sum += ws.losses[r];
      correct += ws.predicted[r] == ws.labels[r];
    }
  };
  team_loop(state, [&](Team& team, uint64_t i) {
    if (fused) {
      mlpbench::train_step(model, ws, ws.batch(0), batch, optimizer, i + 1, team, hooks);
      return;
    }
    mlpbench::reference_step(model, ws, batch, nullptr, 0, team);
    if (team.leader()) hooks.after_loss();
    optimizer.step(model.params().data(), ws.grads.data(), 0, model.params().size(), i + 1,
                   team.part());
  });
  benchmark::DoNotOptimize(loss_sum);
  benchmark::DoNotOptimize(correct);
  set_rate(state, "samples_per_second", static_cast<double>(batch));
  set_rate(state, "GFLOPS", model.training_flops_per_sample() * batch * 1e-9);
  mlpbench::bench::set_work_counters(state, mlpbench::bench::step_counts(model, batch));
}

// Trainer::evaluate on a random 10,000-sample set: per chunk of 1,000, gather the chunk's byte
// pixels into the workspace (each thread its rows), sync, forward, loss without gradient,
// leader's sums, sync.
void BM_Evaluate(State& state, const ModelDef& def, size_t samples, size_t chunk,
                 const std::string& target) {
  if (!select_target(state, target)) return;
  mlpbench::Mlp model(kInputs, def.layers);
  model.init_glorot(1);
  mlpbench::Workspace ws(model, chunk);
  mlpbench::AlignedBuffer<uint8_t> pixels(samples * kInputs);
  fill_bytes(pixels.data(), pixels.size(), 7);
  std::vector<uint8_t> labels(samples);
  fill_labels(labels.data(), samples, 8);
  std::vector<float> losses(samples);
  std::vector<uint32_t> indices(samples);
  std::iota(indices.begin(), indices.end(), 0u);

  uint64_t correct = 0;
  team_loop(state, [&](Team& team, uint64_t) {
    for (size_t first = 0; first < samples; first += chunk) {
      const size_t rows = std::min(chunk, samples - first);
      kernels::gather_pixels(pixels.data(), kInputs, indices.data() + first, rows,
                             ws.input.data(), team.part(), team.part().count > 1);
      for (size_t r = team.part().begin(rows); r < team.part().end(rows); ++r) {
        ws.labels[r] = labels[first + r];
      }
      team.sync();
      mlpbench::forward(model, ws, rows, team);
      mlpbench::loss_and_delta(model, ws, rows, /*with_grad=*/false, team);
      if (team.leader()) {
        for (size_t r = 0; r < rows; ++r) {
          losses[first + r] = ws.losses[r];
          correct += ws.predicted[r] == ws.labels[r];
        }
      }
      team.sync();
    }
  });
  benchmark::DoNotOptimize(correct);
  set_rate(state, "samples_per_second", static_cast<double>(samples));
  set_rate(state, "GFLOPS", model.inference_flops_per_sample() * samples * 1e-9);
}

// kernels::gather_pixels: batch rows picked at random from an MNIST-sized training set (60,000
// rows of 784 byte pixels, 47 MB: more than the last-level cache, as in training), scaled to
// floats into one shared buffer, each thread its share of the rows (training threads each
// gather the whole batch into their own copy: the 1-thread figure). Each iteration takes the next
// batch of one random order, like an epoch. With `float_copy`, the layout the engine used
// before bench/PERF.md #19 (a float copy of the dataset, rows copied with memcpy), kept as the
// baseline the byte gather is measured against.
void BM_GatherBatch(State& state, size_t batch, bool float_copy, const std::string& target) {
  if (!select_target(state, target)) return;
  constexpr size_t kSamples = 60000;
  mlpbench::AlignedBuffer<uint8_t> pixels(kSamples * kInputs);
  fill_bytes(pixels.data(), pixels.size(), 13);
  FloatBuffer floats(float_copy ? pixels.size() : 0);
  for (size_t i = 0; i < floats.size(); ++i) floats[i] = static_cast<float>(pixels[i]) / 255.0f;
  std::vector<uint32_t> order(kSamples);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), std::mt19937(14));
  FloatBuffer out(batch * kInputs);
  team_loop(state, [&](Team& team, uint64_t iteration) {
    const uint32_t* indices = order.data() + iteration * batch % (kSamples - batch);
    if (!float_copy) {
      kernels::gather_pixels(pixels.data(), kInputs, indices, batch, out.data(), team.part());
      return;
    }
    for (size_t r = team.part().begin(batch); r < team.part().end(batch); ++r) {
      std::memcpy(out.data() + r * kInputs, floats.data() + size_t{indices[r]} * kInputs,
                  kInputs * sizeof(float));
    }
  });
  set_rate(state, "samples_per_second", static_cast<double>(batch));
}

// ---- Element-wise kernels -----------------------------------------------------------------

void BM_Adam(State& state, size_t params, const std::string& target) {
  if (!select_target(state, target)) return;
  FloatBuffer p(params), g(params), m(params), v(params);
  fill_uniform(p, -0.1f, 0.1f, 9);
  fill_uniform(g, -0.01f, 0.01f, 10);
  kernels::AdamArgs args;
  args.alpha = 1e-3f;
  team_loop(state, [&](Team& team, uint64_t) {
    kernels::adam(p.data(), g.data(), m.data(), v.data(), params, args, team.part());
  });
  set_rate(state, "GBps", 28.0 * params * 1e-9);
  set_rate(state, "params_per_second", static_cast<double>(params));
  mlpbench::bench::set_work_counters(state, mlpbench::bench::adam_counts(params));
}

void BM_SoftmaxXent(State& state, size_t rows, const std::string& target) {
  if (!select_target(state, target)) return;
  FloatBuffer logits(rows * kClasses), grad(rows * kClasses);
  fill_uniform(logits, -5, 5, 11);
  std::vector<uint8_t> labels(rows);
  fill_labels(labels.data(), rows, 12);
  std::vector<float> loss(rows);
  std::vector<int32_t> predicted(rows);
  const float scale = 1.0f / static_cast<float>(rows);
  team_loop(state, [&](Team& team, uint64_t) {
    kernels::softmax_xent(logits.data(), rows, kClasses, kClasses, labels.data(), scale,
                          grad.data(), loss.data(), predicted.data(), team.part());
  });
  set_rate(state, "samples_per_second", static_cast<double>(rows));
}

// One team barrier per iteration (team_loop ends every iteration with one): the price of each
// of a training step's three barriers, and a probe of how far apart the host placed the threads.
void BM_TeamBarrier(State& state) {
  team_loop(state, [](Team&, uint64_t) {});
}

// ---- Peak ------------------------------------------------------------------------------------

// Every thread of the team runs the same independent-FMA loop; the flops of all are summed.
void BM_FmaPeak(State& state, const std::string& target) {
  if (!select_target(state, target)) return;
  constexpr size_t kLoopIterations = size_t{1} << 16;  // ~0.1-1 ms per call
  std::vector<double> flops(static_cast<size_t>(g_threads), 0.0);
  const auto t0 = std::chrono::steady_clock::now();
  team_loop(state, [&](Team& team, uint64_t) {
    flops[static_cast<size_t>(team.part().index)] = kernels::fma_peak_loop(kLoopIterations);
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double total = 0;
  for (double f : flops) total += f;
  state.SetLabel(kernels::active_target());
  // No x86 core does 1 fp32 TFLOP/s: above that, the loop cannot have run (a compiler may
  // remove it when nothing observes its result), and the figure must not pass for a peak.
  const double per_thread = total * static_cast<double>(state.iterations()) / seconds / g_threads;
  if (per_thread > 1e12) {
    state.SkipWithError("fma_peak_loop did no work on this target (its loop was compiled away)");
    return;
  }
  set_rate(state, "GFLOPS", total * 1e-9);
}

// ---- Registration ----------------------------------------------------------------------------

void register_all(const std::vector<std::string>& targets) {
  // Every team benchmark may be multi-threaded: wall time throughout, so that names don't
  // change with the thread count.
  auto add = [](const std::string& name, std::function<void(State&)> fn) {
    benchmark::RegisterBenchmark(name.c_str(), std::move(fn))
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  };
  std::set<std::string> seen;  // shapes shared by two models are registered once
  for (const auto& [what, c] : gemm_cases()) {
    for (const std::string& t : targets) {
      const std::string name =
          bench_name(what, {{"m", c.m}, {"n", c.n}, {"k", c.k}}, t);
      if (!seen.insert(name).second) continue;
      add(name, [c = c, t](State& s) { BM_Gemm(s, c, t); });
    }
  }
  for (const ModelDef& def : reference_models()) {
    for (size_t batch : {32, 256}) {
      for (const std::string& t : targets) {
        add(bench_name("BM_TrainStep", {{"batch", batch}}, t, def.name),
            [&def, batch, t](State& s) { BM_TrainStep(s, def, batch, t, true); });
        add(bench_name("BM_TrainStepUnfused", {{"batch", batch}}, t, def.name),
            [&def, batch, t](State& s) { BM_TrainStep(s, def, batch, t, false); });
        for (size_t shards : {2, 4, 8}) {
          add(bench_name("BM_TrainStep", {{"batch", batch}, {"shards", shards}}, t, def.name),
              [&def, batch, t, shards](State& s) { BM_TrainStep(s, def, batch, t, true, shards); });
        }
      }
    }
  }
  const ModelDef& model_a = reference_models()[0];
  for (const std::string& t : targets) {
    add(bench_name("BM_Evaluate", {{"samples", 10000}, {"chunk", 1000}}, t, model_a.name),
        [&model_a, t](State& s) { BM_Evaluate(s, model_a, 10000, 1000, t); });
  }
  for (size_t batch : {32, 256}) {
    for (const std::string& t : targets) {
      add(bench_name("BM_GatherBatch", {{"batch", batch}}, t),
          [batch, t](State& s) { BM_GatherBatch(s, batch, false, t); });
      add(bench_name("BM_GatherBatchFloatCopy", {{"batch", batch}}, t),
          [batch, t](State& s) { BM_GatherBatch(s, batch, true, t); });
    }
  }
  for (const ModelDef& def : reference_models()) {
    const size_t params = mlpbench::Mlp(kInputs, def.layers).parameter_count();
    for (const std::string& t : targets) {
      add(bench_name("BM_Adam", {{"params", params}}, t),
          [params, t](State& s) { BM_Adam(s, params, t); });
    }
  }
  for (size_t rows : {32, 256}) {
    for (const std::string& t : targets) {
      add(bench_name("BM_SoftmaxXent", {{"rows", rows}, {"classes", kClasses}}, t),
          [rows, t](State& s) { BM_SoftmaxXent(s, rows, t); });
    }
  }
  for (const std::string& t : targets) {
    add(bench_name("BM_FmaPeak", {}, t), [t](State& s) { BM_FmaPeak(s, t); });
  }
  add("BM_TeamBarrier", [](State& s) { BM_TeamBarrier(s); });
  mlpbench::bench::register_bandwidth_benchmarks(g_threads);
}

// ---- Command line ----------------------------------------------------------------------------

using mlpbench::bench::join;

void print_usage() {
  std::printf(
      "mlp_bench options (besides Google Benchmark's, listed below):\n"
      "  --threads=N           team size, 1 to 1024 (default: $MLPBENCH_THREADS, else all %d CPUs)\n"
      "  --simd-target=NAME    one of: %s, or `all` (every benchmark once per target)\n\n",
      mlpbench::available_cpus(), join(kernels::supported_targets()).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  // Take our flags out of argv; Google Benchmark gets the rest.
  std::optional<std::string> threads_flag, simd_flag;  // given empty is not "not given"
  bool help = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--threads=", 0) == 0) {
      threads_flag = arg.substr(std::strlen("--threads="));
    } else if (arg.rfind("--simd-target=", 0) == 0) {
      simd_flag = arg.substr(std::strlen("--simd-target="));
    } else {
      if (arg == "--help" || arg == "-h") help = true;
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  argv[argc] = nullptr;
  if (help) print_usage();

  const std::optional<int> threads = mlpbench::bench::team_size("mlp_bench", threads_flag);
  if (!threads || mlpbench::bench::given_empty("mlp_bench", "--simd-target", simd_flag)) return 2;
  g_threads = *threads;
  const std::string simd = simd_flag.value_or("");

  // One empty target: the global choice (made here, once). `all`: one set per target.
  std::vector<std::string> targets = {""};
  if (simd == "all") {
    targets = kernels::supported_targets();
  } else if (!simd.empty() && !kernels::select_simd_target(simd)) {
    std::fprintf(stderr, "mlp_bench: unknown or unsupported SIMD target '%s'; supported: %s, all\n",
                 simd.c_str(), join(kernels::supported_targets()).c_str());
    return 2;
  }

  if (!mlpbench::bench::check_benchmark_flags(argc, argv, "mlp_bench")) return 2;
  register_all(targets);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  mlpbench::bench::add_context(simd == "all" ? "all" : kernels::active_target(), g_threads,
                               kernels::supported_targets());
  mlpbench::bench::add_cache_context();
  if (simd != "all") {
    const kernels::GemmTile tile = kernels::gemm_tile();
    benchmark::AddCustomContext("mlpbench_gemm_tile",
                                std::to_string(tile.rows) + "x" + std::to_string(tile.cols));
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  kernels::select_simd_target("");
  return mlpbench::bench::finish_benchmark_out("mlp_bench") ? 0 : 1;
}
