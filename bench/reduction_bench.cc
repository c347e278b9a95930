// reduction_bench: the gradient reduction of distributed training (docs/benchmarks.md), run
// under an MPI launcher:  mpirun -n R build/bench/reduction_bench [Google Benchmark flags]
//
// What is measured, per iteration, on every rank:
//   BM_TreeAllreduce  the engine's fixed-orientation reduction as training runs it: the
//                     reduce-scatter by recursive halving, then the allgather by recursive
//                     doubling (reduction.h; the optimizer that sits between them is left out);
//   BM_MpiAllreduce   MPI_Allreduce (MPI_SUM, in place) of the same buffer: --reduction mpi.
// Each at the two reference models' parameter buffers (784-512-10: 407,050 parameters;
// 784-64-32-10: 52,650; the buffer holds each tensor 64-byte aligned, so `floats` may be a few
// more) and over a sweep of buffer sizes (`sweep/floats:N`, 64 to 4M floats, one layer of 15
// inputs so that the halving has panels to cut at) from which tools/alpha_beta.py fits a
// latency-bandwidth model. Counters: bytes_per_second (the payload, floats x 4, per second),
// `floats`, `ranks`, and `sent_bytes` (the most bytes one rank sent per iteration; for MPI the
// payload, the library's own traffic is not visible).
//
// Timing that every rank agrees on: each iteration starts after a barrier, and the time
// reported is the slowest rank's (gathered after the clock stops, manual time). Google
// Benchmark then decides the same iteration counts on every rank, so the collectives stay
// matched. Rank 0 alone reports (and writes --benchmark_out); the buffer is refilled before
// every iteration, outside the clock, so that repeated sums stay finite.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "benchmark_out.h"
#include "mlpbench/comm.h"
#include "mlpbench/errors.h"
#include "mlpbench/model.h"
#include "mlpbench/parallel.h"
#include "mlpbench/reduction.h"

namespace {

using benchmark::State;
using enum mlpbench::Activation;

mlpbench::Comm* g_comm = nullptr;

// Reports nothing: every rank but 0 runs the benchmarks for the collectives' sake only.
class SilentReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

// The slowest rank's seconds (a collective: every rank calls it once per iteration).
double slowest(double seconds) {
  std::vector<double> all(static_cast<size_t>(g_comm->size()));
  g_comm->allgather(&seconds, sizeof seconds, all.data());
  return *std::max_element(all.begin(), all.end());
}

void BM_Reduction(State& state, const mlpbench::Mlp* model, bool tree) {
  mlpbench::Comm& comm = *g_comm;
  const size_t n = model->params().size();
  std::vector<float> source(n), data(n);
  for (size_t i = 0; i < n; ++i) source[i] = 1e-3f * static_cast<float>((i * 7919 + comm.rank()) % 1000);
  mlpbench::TreeReduction reduction(*model, comm.size(), comm.rank());
  const mlpbench::Team team(mlpbench::kernels::Part{0, 1});
  size_t sent = 0;
  for (auto _ : state) {
    std::memcpy(data.data(), source.data(), n * sizeof(float));
    comm.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    if (tree) {
      sent = reduction.reduce_scatter(data.data(), comm, team);
      sent += reduction.allgather(data.data(), comm, team);
    } else {
      comm.allreduce_sum(data.data(), n);
      sent = n * sizeof(float);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(slowest(seconds));
  }
  benchmark::DoNotOptimize(data.data());
  std::vector<uint64_t> all_sent(static_cast<size_t>(comm.size()));
  const uint64_t mine = sent;
  comm.allgather(&mine, sizeof mine, all_sent.data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * sizeof(float)));
  state.counters["floats"] = static_cast<double>(n);
  state.counters["ranks"] = comm.size();
  state.counters["sent_bytes"] = static_cast<double>(*std::max_element(all_sent.begin(), all_sent.end()));
}

void register_all(std::vector<std::unique_ptr<mlpbench::Mlp>>& models) {
  auto add = [&](const std::string& label, std::unique_ptr<mlpbench::Mlp> model) {
    const mlpbench::Mlp* m = model.get();
    models.push_back(std::move(model));
    for (const bool tree : {true, false}) {
      const std::string name = std::string(tree ? "BM_TreeAllreduce/" : "BM_MpiAllreduce/") + label;
      benchmark::RegisterBenchmark(name.c_str(), [m, tree](State& s) { BM_Reduction(s, m, tree); })
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  };
  auto reference = [&](const char* name, const std::vector<mlpbench::LayerSpec>& layers) {
    auto m = std::make_unique<mlpbench::Mlp>(784, layers);
    const std::string label = std::string(name) + "/params:" + std::to_string(m->parameter_count());
    add(label, std::move(m));  // the label first: argument order is unspecified
  };
  reference("784-512-10", {{512, kRelu}, {10, kSoftmax}});
  reference("784-64-32-10", {{64, kRelu}, {32, kRelu}, {10, kSoftmax}});
  for (size_t out = 4; out <= (size_t{1} << 18); out *= 4) {  // 16 floats per unit: 64 to 4M floats
    auto m = std::make_unique<mlpbench::Mlp>(15, std::vector<mlpbench::LayerSpec>{{static_cast<int>(out), kSoftmax}});
    const std::string label = "sweep/floats:" + std::to_string(m->params().size());
    add(label, std::move(m));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<mlpbench::Comm> comm;
  if (!mlpbench::launched_by_mpi()) {  // init_mpi's own message speaks of run_experiment
    std::fprintf(stderr, "reduction_bench: no MPI launcher started this process; start it as: "
                         "mpirun -n 2 build/bench/reduction_bench (see docs/benchmarks.md)\n");
    return 2;
  }
  try {
    comm = mlpbench::init_mpi();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reduction_bench: %s\n(start it as: mpirun -n 2 build/bench/reduction_bench)\n", e.what());
    return 2;
  }
  g_comm = comm.get();
  // Only rank 0 writes --benchmark_out: the others would truncate the same file.
  if (comm->rank() != 0) {
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
      if (std::strncmp(argv[i], "--benchmark_out", 15) != 0) argv[kept++] = argv[i];
    }
    argc = kept;
    argv[argc] = nullptr;
  }
  if (!mlpbench::bench::make_benchmark_out_folders(argc, argv, "reduction_bench")) return 2;
  std::vector<std::unique_ptr<mlpbench::Mlp>> models;
  register_all(models);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::AddCustomContext("mlpbench_ranks", std::to_string(comm->size()));
  benchmark::AddCustomContext("mlpbench_mpi_library", comm->library_version());
  if (comm->rank() == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    SilentReporter display;  // and no file reporter: --benchmark_out was taken out above
    benchmark::RunSpecifiedBenchmarks(&display);
  }
  benchmark::Shutdown();
  return 0;
}
