// onednn_mlp: the oneDNN C++ peer of run_experiment (bench/peers/README.md).
//
// Trains an mlpbench experiment file with oneDNN's primitives, taking from the engine whatever
// decides *what* is computed, as libtorch_mlp does: the experiment parser and validator, the IDX
// loader (pixels x / 255 in float32), the Glorot initial weights from the seed, the seeded
// shuffle (one per epoch, the last partial batch kept), the learning-rate schedule and the run
// log (mlpbench.run/1). *How* is oneDNN's, set up as a performance engineer would:
//  - every primitive is created once per batch size (training batch, its remainder, the
//    evaluation chunks) before it is needed again, never per step;
//  - ReLU is a post-op of the forward inner product, and its backward uses the saved output;
//  - weights live in the format oneDNN picks for the forward inner product (--weight-format any,
//    the default) or in a plain one (io: Keras layout [in][out]; oi: [out][in]); the optimizer
//    state shares that format, and a weight gradient produced in another format is reordered
//    into it by a reorder primitive;
//  - Adam (Keras form) and SGD are loops the compiler vectorises for the best ISA the CPU has
//    (target clones), split between the threads like oneDNN's own work.
// Threads: oneDNN here runs on OpenMP (Debian's build), so --threads is omp_set_num_threads and
// OMP_WAIT_POLICY (read by libgomp at start-up) is chosen in the environment; both are logged.
#include <dnnl.hpp>
#include <omp.h>
#include <xmmintrin.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mlpbench/build_info.h"
#include "mlpbench/dataset.h"
#include "mlpbench/errors.h"
#include "mlpbench/experiment.h"
#include "mlpbench/model.h"
#include "mlpbench/output_paths.h"
#include "mlpbench/run_log.h"
#include "mlpbench/runner.h"
#include "peer_run.h"

namespace {

using dnnl::memory;
using mlpbench::ConfigError;
using mlpbench::Dataset;
using mlpbench::Experiment;
using Tag = memory::format_tag;

constexpr const char* kEnvKeys[] = {"OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT",
                                    "OMP_PROC_BIND", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"};

// --weight-format: the format oneDNN picks, or a plain one.
struct Options : mlpbench::peer::Options {
  std::string weight_format = "any";
};

// oneDNN's own notation of a memory format: dimensions a, b, ... outermost first, upper case
// where blocked, then the inner blocks (e.g. "AB16b64a"; plain [in][out] weights are "ba").
std::string format_text(const memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_blocked) return "non-blocked";
  const auto& b = d.format_desc.blocking;
  std::vector<int> order(static_cast<size_t>(d.ndims));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return b.strides[x] > b.strides[y]; });
  std::string text;
  for (int dim : order) {
    bool blocked = false;
    for (int i = 0; i < b.inner_nblks; ++i) blocked |= b.inner_idxs[i] == dim;
    text += static_cast<char>((blocked ? 'A' : 'a') + dim);
  }
  for (int i = 0; i < b.inner_nblks; ++i) {
    text += std::to_string(b.inner_blks[i]) + static_cast<char>('a' + b.inner_idxs[i]);
  }
  return text;
}

size_t floats(const memory::desc& md) { return md.get_size() / sizeof(float); }

// ---- Optimizers: flat loops over weights, gradients and state in one shared format ----------

// One thread's span [begin, end). Cloned per ISA and picked at load time, so the loop runs
// with the widest vectors this CPU has, as a tuned vendor build would.
__attribute__((target_clones("avx512f", "avx2", "default")))
void adam_span(float* __restrict p, const float* __restrict g, float* __restrict m,
               float* __restrict v, size_t begin, size_t end, float alpha, float b1, float b2,
               float eps) {
  const float c1 = 1 - b1, c2 = 1 - b2;
#pragma omp simd
  for (size_t i = begin; i < end; ++i) {
    m[i] = b1 * m[i] + c1 * g[i];
    v[i] = b2 * v[i] + c2 * g[i] * g[i];
    p[i] -= alpha * m[i] / (std::sqrt(v[i]) + eps);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void sgd_span(float* __restrict p, const float* __restrict g, float* __restrict vel, size_t begin,
              size_t end, float lr, float momentum, bool nesterov) {
  if (!vel) {
#pragma omp simd
    for (size_t i = begin; i < end; ++i) p[i] -= lr * g[i];
  } else if (nesterov) {
#pragma omp simd
    for (size_t i = begin; i < end; ++i) {
      vel[i] = momentum * vel[i] - lr * g[i];
      p[i] += momentum * vel[i] - lr * g[i];
    }
  } else {
#pragma omp simd
    for (size_t i = begin; i < end; ++i) {
      vel[i] = momentum * vel[i] - lr * g[i];
      p[i] += vel[i];
    }
  }
}

// A parameter tensor (weights or bias) with its gradient and optimizer state, all of one format.
struct Param {
  memory value, grad;
  std::vector<float> slot1, slot2;  // Adam: m, v; SGD with momentum: velocity
};

class Optimizer {
 public:
  Optimizer(const mlpbench::OptimizerSpec& spec, int threads) : spec_(spec), threads_(threads) {}

  void attach(Param& p) const {
    const size_t n = floats(p.value.get_desc());
    const bool adam = spec_.kind == mlpbench::OptimizerKind::kAdam;
    if (adam || spec_.momentum > 0) p.slot1.assign(n, 0.0f);
    if (adam) p.slot2.assign(n, 0.0f);
  }

  // Update t (from 1) at rate lr, every parameter split evenly between the threads.
  void step(std::vector<Param>& params, uint64_t t, double lr) const {
    const bool adam = spec_.kind == mlpbench::OptimizerKind::kAdam;
    const double td = static_cast<double>(t);
    const float alpha = static_cast<float>(
        lr * std::sqrt(1 - std::pow(spec_.beta_2, td)) / (1 - std::pow(spec_.beta_1, td)));
#pragma omp parallel num_threads(threads_)
    {
      const size_t k = static_cast<size_t>(omp_get_thread_num());
      const size_t parts = static_cast<size_t>(omp_get_num_threads());
      for (Param& p : params) {
        const size_t n = floats(p.value.get_desc());
        const size_t begin = n * k / parts, end = n * (k + 1) / parts;
        auto* value = static_cast<float*>(p.value.get_data_handle());
        const auto* grad = static_cast<const float*>(p.grad.get_data_handle());
        if (adam) {
          adam_span(value, grad, p.slot1.data(), p.slot2.data(), begin, end, alpha,
                    static_cast<float>(spec_.beta_1), static_cast<float>(spec_.beta_2),
                    static_cast<float>(spec_.epsilon));
        } else {
          sgd_span(value, grad, p.slot1.empty() ? nullptr : p.slot1.data(), begin, end,
                   static_cast<float>(lr), static_cast<float>(spec_.momentum), spec_.nesterov);
        }
      }
    }
  }

 private:
  mlpbench::OptimizerSpec spec_;
  int threads_;
};

// ---- The network -----------------------------------------------------------------------------

struct LayerShape {
  memory::dim in, out;
  bool relu;
};

// Every primitive and activation buffer of one batch size: forward (training or inference),
// and for training the backward passes. Created once, reused for every batch of that size.
struct Pass {
  struct Layer {
    dnnl::inner_product_forward forward;
    memory dst;                            // post-activation output [batch x out]
    dnnl::inner_product_backward_weights backward_weights;
    memory diff_weights;                   // in backward_weights' format
    std::optional<dnnl::reorder> to_weight_format;  // into Param::grad, when the formats differ
    dnnl::inner_product_backward_data backward_data;  // layers above the first
    dnnl::eltwise_backward relu_backward;  // of this layer's output, in place on its gradient
    memory diff_dst;                       // gradient at this layer's output
    std::string forward_impl, backward_weights_impl, backward_data_impl;
  };
  memory::dim batch;
  memory input;
  std::vector<Layer> layers;
};

class Network {
 public:
  Network(const Experiment& e, const std::string& weight_format, memory::dim train_batch)
      : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    mlpbench::Mlp mlp(mlpbench::kExperimentInputs, e.model);
    mlp.init_glorot(e.seed);
    for (const auto& l : mlp.layers()) {
      shapes_.push_back({static_cast<memory::dim>(l.in), static_cast<memory::dim>(l.out), l.relu()});
    }
    // The weights' format: the training forward's choice, or the plain one asked for.
    for (size_t l = 0; l < shapes_.size(); ++l) {
      const LayerShape& s = shapes_[l];
      memory::desc w;
      if (weight_format == "any") {
        w = forward_pd(s, train_batch, memory::desc({s.out, s.in}, kF32, Tag::any), true).weights_desc();
      } else {
        w = memory::desc({s.out, s.in}, kF32, weight_format == "io" ? Tag::io : Tag::oi);
      }
      Param weights{memory(w, engine_), memory(w, engine_), {}, {}};
      const memory::desc bias_md({s.out}, kF32, Tag::x);
      Param bias{memory(bias_md, engine_), memory(bias_md, engine_), {}, {}};
      // Keras layout rows [in][out] are oneDNN's {out, in} dims in format io.
      std::vector<float> rows = mlp.weight_rows(l);
      memory keras(memory::desc({s.out, s.in}, kF32, Tag::io), engine_, rows.data());
      dnnl::reorder(keras, weights.value).execute(stream_, keras, weights.value);
      stream_.wait();  // before `rows` goes
      std::fill_n(static_cast<float*>(bias.value.get_data_handle()), s.out, 0.0f);
      params_.push_back(std::move(weights));
      params_.push_back(std::move(bias));
    }
  }

  std::vector<Param>& params() { return params_; }
  const std::vector<LayerShape>& shapes() const { return shapes_; }
  // The pass for `batch` rows, created the first time it is asked for.
  Pass& pass(memory::dim batch, bool training) {
    auto& cache = training ? training_ : inference_;
    auto it = cache.find(batch);
    if (it == cache.end()) it = cache.emplace(batch, make_pass(batch, training)).first;
    return *it->second;
  }

  // Forward over pass.input; returns the logits [batch x classes].
  const float* forward(Pass& p) {
    const memory* src = &p.input;
    for (size_t l = 0; l < p.layers.size(); ++l) {
      Pass::Layer& L = p.layers[l];
      L.forward.execute(stream_, {{DNNL_ARG_SRC, *src}, {DNNL_ARG_WEIGHTS, params_[2 * l].value},
                                  {DNNL_ARG_BIAS, params_[2 * l + 1].value}, {DNNL_ARG_DST, L.dst}});
      src = &L.dst;
    }
    stream_.wait();
    return static_cast<const float*>(p.layers.back().dst.get_data_handle());
  }

  // The gradients of every parameter from the logits' gradient, already in the last layer's
  // diff_dst: weight gradient, then (above the first layer) the input gradient through ReLU'.
  void backward(Pass& p) {
    for (size_t l = p.layers.size(); l-- > 0;) {
      Pass::Layer& L = p.layers[l];
      const memory& src = l == 0 ? p.input : p.layers[l - 1].dst;
      L.backward_weights.execute(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, L.diff_dst},
                                           {DNNL_ARG_DIFF_WEIGHTS, L.diff_weights},
                                           {DNNL_ARG_DIFF_BIAS, params_[2 * l + 1].grad}});
      if (L.to_weight_format) L.to_weight_format->execute(stream_, L.diff_weights, params_[2 * l].grad);
      if (l == 0) continue;
      Pass::Layer& below = p.layers[l - 1];
      L.backward_data.execute(stream_, {{DNNL_ARG_DIFF_DST, L.diff_dst}, {DNNL_ARG_WEIGHTS, params_[2 * l].value},
                                        {DNNL_ARG_DIFF_SRC, below.diff_dst}});
      if (shapes_[l - 1].relu) {
        below.relu_backward.execute(stream_, {{DNNL_ARG_DIFF_DST, below.diff_dst}, {DNNL_ARG_DST, below.dst},
                                              {DNNL_ARG_DIFF_SRC, below.diff_dst}});
      }
    }
    stream_.wait();
  }

  memory::desc weights_desc(size_t l) const { return params_[2 * l].value.get_desc(); }

 private:
  static constexpr memory::data_type kF32 = memory::data_type::f32;

  dnnl::inner_product_forward::primitive_desc forward_pd(const LayerShape& s, memory::dim batch,
                                                         const memory::desc& w, bool training) const {
    const memory::desc src({batch, s.in}, kF32, Tag::nc), dst({batch, s.out}, kF32, Tag::nc);
    const memory::desc bias({s.out}, kF32, Tag::x);
    dnnl::primitive_attr attr;
    if (s.relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    const auto kind = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    return {{kind, src, w, bias, dst}, attr, engine_};
  }

  std::unique_ptr<Pass> make_pass(memory::dim batch, bool training) {
    auto p = std::make_unique<Pass>();
    p->batch = batch;
    p->input = memory({{batch, shapes_.front().in}, kF32, Tag::nc}, engine_);
    for (size_t l = 0; l < shapes_.size(); ++l) {
      const LayerShape& s = shapes_[l];
      const memory::desc w = weights_desc(l);
      const auto fwd = forward_pd(s, batch, w, training);
      if (fwd.weights_desc() != w) throw std::runtime_error("oneDNN changed a fixed weight format");
      Pass::Layer L;
      L.forward = dnnl::inner_product_forward(fwd);
      L.forward_impl = fwd.impl_info_str();
      L.dst = memory(fwd.dst_desc(), engine_);
      if (training) {
        const memory::desc src({batch, s.in}, kF32, Tag::nc), dst({batch, s.out}, kF32, Tag::nc);
        const memory::desc bias({s.out}, kF32, Tag::x), w_any({s.out, s.in}, kF32, Tag::any);
        const dnnl::inner_product_backward_weights::primitive_desc bw({src, w_any, bias, dst}, engine_, fwd);
        L.backward_weights = dnnl::inner_product_backward_weights(bw);
        L.backward_weights_impl = bw.impl_info_str();
        L.diff_weights = bw.diff_weights_desc() == w ? params_[2 * l].grad : memory(bw.diff_weights_desc(), engine_);
        if (bw.diff_weights_desc() != w) L.to_weight_format = dnnl::reorder(L.diff_weights, params_[2 * l].grad);
        L.diff_dst = memory(dst, engine_);
        if (s.relu) {
          const auto alg = dnnl::algorithm::eltwise_relu_use_dst_for_bwd;
          const dnnl::eltwise_forward::primitive_desc hint({dnnl::prop_kind::forward_training, alg, dst, 0.0f, 0.0f}, engine_);
          L.relu_backward = dnnl::eltwise_backward({{alg, dst, dst, 0.0f, 0.0f}, engine_, hint});
        }
      }
      p->layers.push_back(std::move(L));
    }
    if (training) {
      // The input gradient of layer l > 0 lands in layer l-1's diff_dst.
      for (size_t l = 1; l < shapes_.size(); ++l) {
        const LayerShape& s = shapes_[l];
        const memory::desc diff_src({batch, s.in}, kF32, Tag::nc), dst({batch, s.out}, kF32, Tag::nc);
        const auto fwd = forward_pd(s, batch, weights_desc(l), true);
        const dnnl::inner_product_backward_data::primitive_desc bd({diff_src, weights_desc(l), dst}, engine_, fwd);
        if (bd.weights_desc() != weights_desc(l)) throw std::runtime_error("oneDNN changed a fixed weight format");
        p->layers[l].backward_data = dnnl::inner_product_backward_data(bd);
        p->layers[l].backward_data_impl = bd.impl_info_str();
      }
    }
    return p;
  }

  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<LayerShape> shapes_;
  std::vector<Param> params_;  // W0, b0, W1, b1, ...
  std::map<memory::dim, std::unique_ptr<Pass>> training_, inference_;
};

// Softmax cross-entropy of logits [rows x classes]: the summed loss, the argmax (first maximum)
// per row, and, when `grad` is given, (softmax - onehot) / rows, Keras' mean-loss gradient.
double softmax_xent(const float* logits, size_t rows, size_t classes, const uint8_t* labels,
                    float* grad, std::vector<int>& predicted) {
  double loss = 0;
  predicted.resize(rows);
  for (size_t i = 0; i < rows; ++i) {
    const float* z = logits + i * classes;
    size_t best = 0;
    for (size_t j = 1; j < classes; ++j) best = z[j] > z[best] ? j : best;
    predicted[i] = static_cast<int>(best);
    float sum = 0;
    for (size_t j = 0; j < classes; ++j) sum += std::exp(z[j] - z[best]);
    loss += std::log(sum) - (z[labels[i]] - z[best]);
    if (!grad) continue;
    const float scale = 1.0f / static_cast<float>(rows);
    for (size_t j = 0; j < classes; ++j) {
      const float prob = std::exp(z[j] - z[best]) / sum;
      grad[i * classes + j] = (prob - (j == labels[i] ? 1.0f : 0.0f)) * scale;
    }
  }
  return loss;
}

// Pixels x / 255 as float32, [n x features].
std::vector<float> to_floats(const Dataset& d) {
  std::vector<float> x(d.pixels.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(d.pixels.data()[i]) / 255.0f;
  return x;
}

mlpbench::Evaluation evaluate(Network& net, const std::vector<float>& x, const Dataset& d, size_t batch) {
  const size_t n = d.size(), features = d.features(), classes = 10;
  mlpbench::Evaluation ev;
  ev.classes = classes;
  ev.confusion.assign(classes * classes, 0);
  std::vector<int> predicted;
  double loss = 0;
  for (size_t s = 0; s < n; s += batch) {
    const size_t rows = std::min(n, s + batch) - s;
    Pass& p = net.pass(static_cast<memory::dim>(rows), false);
    p.input.set_data_handle(const_cast<float*>(x.data() + s * features));
    loss += softmax_xent(net.forward(p), rows, classes, d.labels.data() + s, nullptr, predicted);
    for (size_t i = 0; i < rows; ++i) ++ev.confusion[d.labels[s + i] * classes + static_cast<size_t>(predicted[i])];
  }
  uint64_t correct = 0;
  for (size_t c = 0; c < classes; ++c) correct += ev.confusion[c * classes + c];
  ev.loss = loss / static_cast<double>(n);
  ev.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return ev;
}

std::string onednn_release() {
  const dnnl::version_t* v = dnnl::version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::string isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other (" + std::to_string(static_cast<int>(isa)) + ")";
  }
}

// What oneDNN chose for the training pass: per layer the weights' format and each primitive's
// implementation (e.g. "brgemm:avx512_core").
nlohmann::json chosen(Network& net, memory::dim batch) {
  Pass& p = net.pass(batch, true);
  nlohmann::json layers = nlohmann::json::array();
  for (size_t l = 0; l < p.layers.size(); ++l) {
    const Pass::Layer& L = p.layers[l];
    nlohmann::json j = {{"weights_format", format_text(net.weights_desc(l))},
                        {"forward", L.forward_impl},
                        {"backward_weights", L.backward_weights_impl},
                        {"weight_gradient_reordered", L.to_weight_format.has_value()}};
    if (l > 0) j["backward_data"] = L.backward_data_impl;
    layers.push_back(j);
  }
  return layers;
}

int train(const Options& o) {
  const auto t_wall = std::chrono::steady_clock::now();
  const Experiment e = mlpbench::peer::resolve_experiment(o, "the oneDNN peer");
  if (e.model.back().units != 10 || e.model.back().activation != mlpbench::Activation::kSoftmax) {
    throw ConfigError(o.experiment + ": /model: the oneDNN peer needs a 10-unit softmax output layer");
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = o.threads.value_or(e.threads > 0 ? e.threads : cores);
  omp_set_num_threads(threads);
  // Denormals flushed to zero (FTZ and DAZ), as the engine and TensorFlow (the Keras reference)
  // run; OpenMP's threads, created later, inherit this thread's MXCSR.
  _mm_setcsr(_mm_getcsr() | 0x8040);

  const std::string data_dir = mlpbench::peer::data_dir(o);
  const Dataset train = mlpbench::load_dataset(data_dir, e.dataset, "train", o.train_limit);
  const Dataset test = mlpbench::load_dataset(data_dir, e.dataset, "test", o.test_limit);
  mlpbench::check_same_shape(train, test);
  const std::vector<float> x_train = to_floats(train), x_test = to_floats(test);

  const size_t n = train.size(), batch = static_cast<size_t>(e.batch_size);
  const size_t features = train.features(), classes = 10;
  Network net(e, o.weight_format, static_cast<memory::dim>(std::min(batch, n)));
  Optimizer optimizer(e.optimizer, threads);
  for (Param& p : net.params()) optimizer.attach(p);

  const std::string version = onednn_release();
  const std::string isa = isa_name(dnnl::get_effective_cpu_isa());
  const std::string out = !o.out.empty() ? o.out
      : mlpbench::default_runs_dir() + "/" + e.name + "/" + mlpbench::utc_stamp_compact() +
            "-onednn-t" + std::to_string(threads) + "-" + o.weight_format + "-p" +
            std::to_string(::getpid()) + ".json";
  nlohmann::json experiment = e.to_json();
  experiment["threads"] = threads;
  nlohmann::json run = {{"threads", threads},
                        {"simd_target", "oneDNN " + isa},
                        {"flush_denormals", true},
                        {"seed", e.seed},
                        {"started_utc", mlpbench::utc_timestamp()},
                        {"train_samples", n},
                        {"test_samples", test.size()},
                        {"train_limit", o.train_limit},
                        {"test_limit", o.test_limit}};
  mlpbench::peer::check_log_path(o, out, train, test);
  mlpbench::RunLog log(out, experiment, run, /*create=*/!o.force);
  const nlohmann::json layers = chosen(net, static_cast<memory::dim>(std::min(batch, n)));
  nlohmann::json peer = {{"name", o.config_name},
                         {"threads", threads},
                         {"omp_max_threads", omp_get_max_threads()},
                         {"weight_format", o.weight_format},
                         {"cpu_isa", isa},
                         {"cpu_runtime", "OpenMP"},
                         {"layers", layers},
                         {"optimizer_loop", "target clones avx512f/avx2/default, OpenMP threads"},
                         {"compiled_with", mlpbench::build_json()["compiler"]}};
  for (const char* key : kEnvKeys) peer[key] = mlpbench::peer::env_or_unset(key);
  const std::string first_layer = layers[0]["forward"].get<std::string>() + ", weights " +
                                  layers[0]["weights_format"].get<std::string>();
  log.set_build({{"version", version},
                 {"git_commit", mlpbench::git_commit()},
                 {"compiler", "oneDNN " + version},
                 {"build_type", "oneDNN"},
                 {"cxx_flags", ""},
                 {"simd_config", "peer"},
                 {"simd_targets_compiled", nlohmann::json::array()},
                 {"openmp", true},
                 {"blas", "oneDNN " + version + " inner product (" + first_layer + ")"},
                 {"peer_config", peer}});
  if (!o.quiet) {
    std::string dims = std::to_string(mlpbench::kExperimentInputs);
    for (const auto& l : e.model) dims += "-" + std::to_string(l.units);
    std::fprintf(stderr, "onednn_mlp: %s: %s %s, %s %zu/%zu, batch %zu, oneDNN %s (%s), %s, %d thread(s), "
                 "OMP_WAIT_POLICY %s\n", e.name.c_str(), dims.c_str(),
                 std::string(mlpbench::optimizer_name(e.optimizer.kind)).c_str(), e.dataset.c_str(), n,
                 test.size(), batch, version.c_str(), isa.c_str(), first_layer.c_str(), threads,
                 mlpbench::peer::env_or_unset("OMP_WAIT_POLICY").c_str());
  }

  const std::vector<uint32_t>* order = nullptr;
  std::vector<uint8_t> labels(batch);
  std::vector<int> predicted;
  mlpbench::peer::Trainer trainer;
  trainer.on_epoch = [&](const std::vector<uint32_t>& epoch_order) { order = &epoch_order; };
  trainer.step = [&](size_t first, size_t rows, uint64_t update, double rate) {
    Pass& p = net.pass(static_cast<memory::dim>(rows), true);
    auto* in = static_cast<float*>(p.input.get_data_handle());
    for (size_t i = 0; i < rows; ++i) {
      const uint32_t sample = (*order)[first + i];
      std::memcpy(in + i * features, x_train.data() + sample * features, features * sizeof(float));
      labels[i] = train.labels[sample];
    }
    const float* logits = net.forward(p);
    auto* diff = static_cast<float*>(p.layers.back().diff_dst.get_data_handle());
    mlpbench::peer::Trainer::Step done;
    done.loss_sum = softmax_xent(logits, rows, classes, labels.data(), diff, predicted);
    for (size_t i = 0; i < rows; ++i) done.correct += predicted[i] == labels[i];
    net.backward(p);
    optimizer.step(net.params(), update, rate);
    return done;
  };
  trainer.evaluate = [&] { return evaluate(net, x_test, test, static_cast<size_t>(o.eval_batch_size)); };
  return mlpbench::peer::run_epochs(e, n, log, trainer, o, "onednn_mlp", t_wall);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"The oneDNN C++ peer of run_experiment: trains an experiment file with oneDNN's "
               "primitives (the engine's parser, data, initial weights and batch order; Keras' "
               "Adam/SGD) and writes an mlpbench.run/1 log. OMP_WAIT_POLICY is taken from the "
               "environment.\n\nExit status: 0 done; 2 bad command line or experiment file, or "
               "a log path refused before training (existing: see --force); 3 dataset missing or "
               "corrupt; 4 diverged; 129/130/143 interrupted by SIGHUP/SIGINT/SIGTERM; 1 anything "
               "else.",
               "onednn_mlp"};
  mlpbench::peer::add_options(
      app, o, "OpenMP threads of oneDNN and the optimizer, 1 to 1024 (default: the experiment's, else all cores)",
      "Log file (default results/runs/<name>/<UTC stamp>-onednn-t<threads>-<format>-p<pid>.json); never replaced "
      "without --force");
  app.add_option("--weight-format", o.weight_format, "Weights' memory format: any (oneDNN's choice), io (Keras [in][out]) or oi ([out][in])")
      ->check(CLI::IsMember({"any", "io", "oi"}));
  app.set_version_flag("--version", std::string("onednn_mlp ") + mlpbench::version() + " (" + mlpbench::git_commit() +
                                        "), oneDNN " + onednn_release());
  const auto status = mlpbench::cli::parse_or_exit(app, argc, argv, [] {}, "onednn_mlp: ");
  if (status) return *status;
  return mlpbench::peer::exit_status("onednn_mlp", [&] { return train(o); });
}
