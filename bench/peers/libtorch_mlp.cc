// libtorch_mlp: the libtorch C++ peer of run_experiment (bench/peers/README.md).
//
// Trains an mlpbench experiment file with libtorch's ATen ops and autograd, with the engine's
// own pieces wherever they decide *what* is computed, so that only *how* differs:
//  - the experiment file: the engine's parser and validator (load_experiment);
//  - the data: the engine's IDX loader (load_dataset), pixels scaled x / 255 to float32;
//  - the initial weights: the engine's Glorot initialisation from the seed (Mlp::init_glorot),
//    copied in Keras layout, so both start from the same model;
//  - the batches: the engine's seeded shuffle (Rng stream kShuffleStream, one shuffle per
//    epoch), the last partial batch kept;
//  - the learning rate of update t: the constant rate, or schedule_rate(schedule, t - 1);
//  - the log: the engine's RunLog, epoch and summary JSON (schema mlpbench.run/1).
// Adam and SGD are written out in their Keras form with in-place ops (as pytorch_mlp.py does):
// torch's own Adam adds epsilon to the bias-corrected sqrt(v) instead.
//
// libtorch calls sgemm_ from libblas.so.3, OpenBLAS here (Debian's alternative); its threads
// are OpenBLAS's own pthreads, separate from torch's intra-op (OpenMP) threads, so the two
// counts are set separately and both recorded with the OpenBLAS kernel in use.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <dlfcn.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mlpbench/build_info.h"
#include "mlpbench/cli_options.h"
#include "mlpbench/dataset.h"
#include "mlpbench/default_paths.h"
#include "mlpbench/errors.h"
#include "mlpbench/experiment.h"
#include "mlpbench/model.h"
#include "mlpbench/output_paths.h"
#include "mlpbench/rng.h"
#include "mlpbench/run_log.h"
#include "mlpbench/runner.h"
#include "mlpbench/schedule.h"
#include "peer_run.h"

namespace {

using mlpbench::ConfigError;
using mlpbench::Dataset;
using mlpbench::Experiment;

constexpr const char* kEnvKeys[] = {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                    "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"};

// --torch-threads and --blas-threads: set apart, each defaulting to --threads.
struct Options : mlpbench::peer::Options {
  std::optional<int> torch_threads, blas_threads;
};

// OpenBLAS's own API, looked up at run time: libtorch links only the reference BLAS interface
// (libblas.so.3), which is OpenBLAS when the system's alternative points there.
struct Blas {
  std::string library;  // the file sgemm_ was bound from
  std::string config, corename;
  int (*get_threads)() = nullptr;
  void (*set_threads)(int) = nullptr;

  static Blas probe() {
    Blas b;
    if (void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_")) {
      Dl_info info{};
      if (dladdr(sgemm, &info) && info.dli_fname) b.library = info.dli_fname;
    }
    auto get_config = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
    auto get_core = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    b.get_threads = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    b.set_threads = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (get_config) b.config = get_config();
    if (get_core) b.corename = get_core();
    return b;
  }
  bool is_openblas() const { return !config.empty() && set_threads && get_threads; }
  int threads() const { return is_openblas() ? get_threads() : 1; }
  // "OpenBLAS 0.3.21 (kernel Zen)", with "+ OPENBLAS_CORETYPE=..." when that pins the kernel.
  std::string describe() const {
    std::string text;
    if (is_openblas()) {
      const size_t v = config.find(' ');
      const std::string version = config.substr(v + 1, config.find(' ', v + 1) - v - 1);
      text = "OpenBLAS " + version + " (kernel " + corename + ")";
    } else {
      text = "BLAS " + (library.empty() ? std::string("(sgemm_ not found)") : library);
    }
    if (const char* ct = std::getenv("OPENBLAS_CORETYPE")) text += std::string(" + OPENBLAS_CORETYPE=") + ct;
    return text;
  }
};

// [n, 784] float32 in [0, 1] and [n] int64 labels.
std::pair<at::Tensor, at::Tensor> to_tensors(const Dataset& d) {
  const auto n = static_cast<int64_t>(d.size());
  const auto f = static_cast<int64_t>(d.features());
  at::Tensor bytes = at::from_blob(const_cast<uint8_t*>(d.pixels.data()), {n, f}, at::kByte);
  at::Tensor x = bytes.to(at::kFloat).div_(255.0f).contiguous();
  at::Tensor labels = at::from_blob(const_cast<uint8_t*>(d.labels.data()), {n}, at::kByte);
  return {x, labels.to(at::kLong)};
}

struct Model {
  std::vector<at::Tensor> params;  // W0 [in, out], b0 [out], W1, b1, ...
  std::vector<bool> relu;

  at::Tensor logits(const at::Tensor& x) const {
    at::Tensor h = x;
    for (size_t l = 0; l < relu.size(); ++l) {
      h = at::addmm(params[2 * l + 1], h, params[2 * l]);
      if (relu[l]) h = at::relu(h);
    }
    return h;
  }
};

// The engine's initial model, in Keras layout.
Model initial_model(const Experiment& e) {
  mlpbench::Mlp engine(mlpbench::kExperimentInputs, e.model);
  engine.init_glorot(e.seed);
  Model m;
  for (size_t l = 0; l < engine.layers().size(); ++l) {
    const auto& layer = engine.layers()[l];
    std::vector<float> rows = engine.weight_rows(l);
    at::Tensor w = at::from_blob(rows.data(), {static_cast<int64_t>(layer.in), static_cast<int64_t>(layer.out)},
                                 at::kFloat).clone();
    m.params.push_back(w.set_requires_grad(true));
    m.params.push_back(at::zeros({static_cast<int64_t>(layer.out)}, at::kFloat).set_requires_grad(true));
    m.relu.push_back(layer.relu());
  }
  return m;
}

// Keras' Adam and SGD, update t counted from 1, rate `lr`.
class Optimizer {
 public:
  Optimizer(const mlpbench::OptimizerSpec& spec, const std::vector<at::Tensor>& params) : spec_(spec) {
    const bool adam = spec.kind == mlpbench::OptimizerKind::kAdam;
    if (adam || spec.momentum > 0) {
      for (const auto& p : params) slot1_.push_back(at::zeros_like(p));
    }
    if (adam) {
      for (const auto& p : params) slot2_.push_back(at::zeros_like(p));
    }
  }

  void step(std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads, uint64_t t, double lr) {
    at::NoGradGuard no_grad;
    if (spec_.kind == mlpbench::OptimizerKind::kAdam) {
      const double td = static_cast<double>(t);
      const double lr_t = lr * std::sqrt(1 - std::pow(spec_.beta_2, td)) / (1 - std::pow(spec_.beta_1, td));
      for (size_t i = 0; i < params.size(); ++i) {
        at::Tensor& m = slot1_[i];
        at::Tensor& v = slot2_[i];
        m.mul_(spec_.beta_1).add_(grads[i], 1 - spec_.beta_1);
        v.mul_(spec_.beta_2).addcmul_(grads[i], grads[i], 1 - spec_.beta_2);
        params[i].addcdiv_(m, v.sqrt().add_(spec_.epsilon), -lr_t);
      }
    } else if (slot1_.empty()) {
      for (size_t i = 0; i < params.size(); ++i) params[i].add_(grads[i], -lr);
    } else {
      for (size_t i = 0; i < params.size(); ++i) {
        at::Tensor& vel = slot1_[i];
        vel.mul_(spec_.momentum).add_(grads[i], -lr);  // v = momentum v - lr g
        if (spec_.nesterov) {
          params[i].add_(vel, spec_.momentum).add_(grads[i], -lr);
        } else {
          params[i].add_(vel);
        }
      }
    }
  }

 private:
  mlpbench::OptimizerSpec spec_;
  std::vector<at::Tensor> slot1_, slot2_;  // Adam: m, v; SGD: velocity
};

mlpbench::Evaluation evaluate(const Model& model, const at::Tensor& x, const at::Tensor& y, int batch) {
  at::NoGradGuard no_grad;
  const int64_t n = x.size(0), classes = 10;
  double loss_sum = 0;
  at::Tensor confusion = at::zeros({classes * classes}, at::kLong);
  for (int64_t s = 0; s < n; s += batch) {
    const int64_t e = std::min(n, s + batch);
    at::Tensor logits = model.logits(x.slice(0, s, e));
    at::Tensor yb = y.slice(0, s, e);
    loss_sum += at::cross_entropy_loss(logits, yb, {}, at::Reduction::Sum).item<double>();
    confusion.add_(at::bincount(yb * classes + logits.argmax(1), {}, classes * classes));
  }
  mlpbench::Evaluation ev;
  ev.classes = classes;
  ev.loss = loss_sum / static_cast<double>(n);
  uint64_t correct = 0;
  for (int64_t i = 0; i < classes * classes; ++i) {
    ev.confusion.push_back(static_cast<uint64_t>(confusion[i].item<int64_t>()));
    if (i / classes == i % classes) correct += ev.confusion.back();
  }
  ev.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return ev;
}

// "1.13.1" from Debian's package version "1.13.1+dfsg-4" when the build knew it, else the
// headers' TORCH_VERSION (which Debian's 1.13.1 gives as 1.13.0).
std::string torch_release() {
  const std::string package = MLPBENCH_TORCH_PACKAGE;
  if (package.empty()) return TORCH_VERSION;
  const size_t colon = package.find(':');  // an epoch, if any
  const std::string upstream = package.substr(colon == std::string::npos ? 0 : colon + 1);
  return upstream.substr(0, upstream.find_first_of("+-~"));
}

// "OpenMP" from at::get_parallel_info()'s "ATen parallel backend: OpenMP" line.
std::string parallel_backend() {
  const std::string info = at::get_parallel_info();
  const std::string key = "ATen parallel backend: ";
  const size_t at = info.find(key);
  if (at == std::string::npos) return "unknown";
  const size_t from = at + key.size();
  return info.substr(from, info.find('\n', from) - from);
}

int train(const Options& o) {
  const auto t_wall = std::chrono::steady_clock::now();
  const Experiment e = mlpbench::peer::resolve_experiment(o, "the libtorch peer");

  // Threads: --torch-threads / --blas-threads, else --threads, else the experiment's, else all
  // cores. OpenBLAS's count is set after torch's: torch may reset it when it sizes its pool.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = o.threads.value_or(e.threads > 0 ? e.threads : cores);
  const int torch_threads = o.torch_threads.value_or(threads);
  const int blas_threads = o.blas_threads.value_or(threads);
  // Denormals flushed to zero, as the engine and TensorFlow (the Keras reference) run.
  const bool flush_denormals = at::globalContext().setFlushDenormal(true);
  at::set_num_threads(torch_threads);
  Blas blas = Blas::probe();
  if (blas.is_openblas()) blas.set_threads(blas_threads);
  if (!blas.is_openblas() && !o.quiet) {
    std::fprintf(stderr, "libtorch_mlp: warning: sgemm_ is not OpenBLAS's (%s): the BLAS thread "
                 "count cannot be set and the peer may be far slower than it could be\n",
                 blas.describe().c_str());
  }

  const std::string data_dir = mlpbench::peer::data_dir(o);
  Dataset train = mlpbench::load_dataset(data_dir, e.dataset, "train", o.train_limit);
  const Dataset test = mlpbench::load_dataset(data_dir, e.dataset, "test", o.test_limit);
  mlpbench::check_same_shape(train, test);
  auto [x_train, y_train] = to_tensors(train);
  auto [x_test, y_test] = to_tensors(test);

  const std::string version = torch_release();
  const std::string started = mlpbench::utc_timestamp();
  const std::string out = !o.out.empty() ? o.out
      : mlpbench::default_runs_dir() + "/" + e.name + "/" + mlpbench::utc_stamp_compact() +
            "-libtorch-t" + std::to_string(torch_threads) + "b" + std::to_string(blas.threads()) +
            "-p" + std::to_string(::getpid()) + ".json";

  nlohmann::json experiment = e.to_json();
  experiment["threads"] = threads;
  nlohmann::json run = {{"threads", std::max(at::get_num_threads(), blas.threads())},
                        {"simd_target", blas.is_openblas() ? "OpenBLAS" : "BLAS"},
                        {"flush_denormals", flush_denormals},
                        {"seed", e.seed},
                        {"started_utc", started},
                        {"train_samples", train.size()},
                        {"test_samples", test.size()},
                        {"train_limit", o.train_limit},
                        {"test_limit", o.test_limit}};
  mlpbench::peer::check_log_path(o, out, train, test);
  mlpbench::RunLog log(out, experiment, run, /*create=*/!o.force);
  nlohmann::json peer = {{"name", o.config_name},
                         {"torch_threads", at::get_num_threads()},
                         {"torch_interop_threads", at::get_num_interop_threads()},
                         {"blas_threads", blas.threads()},
                         {"blas_library", blas.library},
                         {"openblas_corename", blas.corename},
                         {"parallel_backend", parallel_backend()},
                         {"torch_headers_version", TORCH_VERSION},
                         {"torch_package", MLPBENCH_TORCH_PACKAGE},
                         {"compiled_with", mlpbench::build_json()["compiler"]}};
  for (const char* key : kEnvKeys) peer[key] = mlpbench::peer::env_or_unset(key);
  log.set_build({{"version", version},
                 {"git_commit", mlpbench::git_commit()},
                 {"compiler", "libtorch " + version},
                 {"build_type", "libtorch"},
                 {"cxx_flags", ""},
                 {"simd_config", "peer"},
                 {"simd_targets_compiled", nlohmann::json::array()},
                 {"openmp", true},
                 {"blas", blas.describe()},
                 {"peer_config", peer}});
  Model model = initial_model(e);
  Optimizer optimizer(e.optimizer, model.params);
  const size_t n = train.size(), batch = static_cast<size_t>(e.batch_size);
  if (!o.quiet) {
    std::string dims = std::to_string(mlpbench::kExperimentInputs);
    for (const auto& l : e.model) dims += "-" + std::to_string(l.units);
    std::fprintf(stderr, "libtorch_mlp: %s: %s %s, %s %zu/%zu, batch %zu, libtorch %s, %s, %d torch "
                 "thread(s), %d BLAS thread(s)\n", e.name.c_str(), dims.c_str(),
                 std::string(mlpbench::optimizer_name(e.optimizer.kind)).c_str(), e.dataset.c_str(), n,
                 test.size(), batch, version.c_str(), blas.describe().c_str(), at::get_num_threads(),
                 blas.threads());
  }

  at::Tensor order_t;  // the epoch's order as int64 indices for index_select
  mlpbench::peer::Trainer trainer;
  trainer.on_epoch = [&](const std::vector<uint32_t>& order) {
    order_t = at::from_blob(const_cast<uint32_t*>(order.data()), {static_cast<int64_t>(n)}, at::kInt).to(at::kLong);
  };
  trainer.step = [&](size_t first, size_t rows, uint64_t update, double rate) {
    const at::Tensor idx = order_t.slice(0, static_cast<int64_t>(first), static_cast<int64_t>(first + rows));
    const at::Tensor xb = x_train.index_select(0, idx);
    const at::Tensor yb = y_train.index_select(0, idx);
    const at::Tensor logits = model.logits(xb);
    const at::Tensor loss = at::cross_entropy_loss(logits, yb);
    const std::vector<at::Tensor> grads = torch::autograd::grad({loss}, model.params);
    optimizer.step(model.params, grads, update, rate);
    mlpbench::peer::Trainer::Step done;
    done.loss_sum = loss.item<double>() * static_cast<double>(rows);
    done.correct = static_cast<uint64_t>(logits.detach().argmax(1).eq(yb).sum().item<int64_t>());
    return done;
  };
  trainer.evaluate = [&] { return evaluate(model, x_test, y_test, o.eval_batch_size); };
  return mlpbench::peer::run_epochs(e, n, log, trainer, o, "libtorch_mlp", t_wall);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"The libtorch C++ peer of run_experiment: trains an experiment file with libtorch "
               "(the engine's parser, data, initial weights and batch order; Keras' Adam/SGD) and "
               "writes an mlpbench.run/1 log.\n\nExit status: 0 done; 2 bad command line or "
               "experiment file, or a log path refused before training (existing: see --force); 3 "
               "dataset missing or corrupt; 4 diverged; 129/130/143 interrupted by "
               "SIGHUP/SIGINT/SIGTERM; 1 anything else.",
               "libtorch_mlp"};
  mlpbench::peer::add_options(
      app, o, "torch intra-op and OpenBLAS threads, 1 to 1024 (default: the experiment's, else all cores)",
      "Log file (default results/runs/<name>/<UTC stamp>-libtorch-t<torch>b<blas>-p<pid>.json); never replaced "
      "without --force");
  app.add_option("--torch-threads", o.torch_threads, "torch intra-op threads (default: --threads)")
      ->transform(mlpbench::cli::integer_in(1, 1024));
  app.add_option("--blas-threads", o.blas_threads, "OpenBLAS threads (default: --threads)")
      ->transform(mlpbench::cli::integer_in(1, 1024));
  app.set_version_flag("--version", std::string("libtorch_mlp ") + mlpbench::version() + " (" + mlpbench::git_commit() +
                                        "), libtorch " + torch_release());
  const auto status = mlpbench::cli::parse_or_exit(app, argc, argv, [] {}, "libtorch_mlp: ");
  if (status) return *status;
  return mlpbench::peer::exit_status("libtorch_mlp", [&] { return train(o); });
}
