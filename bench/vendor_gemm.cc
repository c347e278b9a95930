// vendor_gemm: the vendor floor (docs/benchmarks.md). Every GEMM of both reference models'
// training steps (784-512-10 and 784-64-32-10; forward, weight gradient and input gradient of
// each layer) at batch 32 and 256, on 1 and on all threads, computed by
//   engine         the engine's kernels::gemm, with the operand layouts its step uses (weights
//                  in column panels, the weight gradient written in panels, the input gradient
//                  against the transposed weights) and no epilogue;
//   onednn_sgemm   oneDNN's dnnl_sgemm;
//   onednn_matmul  oneDNN's matmul primitive, created once per benchmark, transposes as strides;
//   openblas       OpenBLAS's cblas_sgemm (Debian's pthreads build, loaded with its own symbols
//                  first: BLIS exports cblas_sgemm too);
//   blis           BLIS's bli_sgemm, on the architecture chosen below.
// The vendors read the operands as a training step stores them (activations and gradients
// [batch x features], weights [in x out]) and transpose through their flags.
//
// Names: BM_VendorGemm/<op>/m:M/n:N/k:K/threads:T/<library>; dropping the last part gives the
// shape and thread count, so "engine vs best vendor" is a group by that prefix (tools/track.py
// files each name as its own series; docs/benchmarks.md shows the grouping). Counter: GFLOPS.
//
// Every benchmark checks its product once against a float64 reference before timing
// (|error| within the float32 bound 2 k eps sum |a||b| per element): a wrong result is an
// error of that benchmark and makes the binary exit 1.
//
// BLIS: Debian's BLIS 0.9 does not recognise every CPU (Zen 5 falls back to its generic, slow
// kernels). BLIS_ARCH_TYPE (an arch_t number, read when BLIS initialises) picks one; unless it
// is set, or --blis-arch=NAME is given, the best compiled configuration this CPU runs is chosen
// (skx with AVX-512, else zen3 with AVX2 and FMA). The context records the result.
//
// Flags (stripped before Google Benchmark sees the rest):
//   --threads=N        the "all threads" count, 1 to 1024 (default: $MLPBENCH_THREADS, else every CPU)
//   --blis-arch=NAME   BLIS configuration by name (skx, zen3, haswell, generic, ...)
#include <benchmark/benchmark.h>
#include <blis.h>
#include <dlfcn.h>
#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "benchmark_out.h"
#include "mlpbench/kernels.h"
#include "mlpbench/model.h"
#include "mlpbench/spec.h"
#include "mlpbench/tensor.h"

namespace {

using benchmark::State;
using mlpbench::FloatBuffer;
using mlpbench::Team;
namespace kernels = mlpbench::kernels;

constexpr size_t kInputs = 784;
std::atomic<int> g_wrong{0};  // benchmarks whose product failed the check

// ---- The GEMMs of a step -----------------------------------------------------------------

enum class Op { kForward, kWeightGrad, kInputGrad };
const char* op_name(Op op) {
  return op == Op::kForward ? "forward" : op == Op::kWeightGrad ? "weight_grad" : "input_grad";
}

// C[m x n] = op(A) . op(B). How the step stores the operands (row-major):
//   forward      A = X [m x k], B = W [k x n]                  (Y = X W)
//   weight_grad  A = X [k x m] transposed, B = dY [k x n]       (dW = X^T dY)
//   input_grad   A = dY [m x k], B = W [n x k] transposed       (dX = dY W^T)
struct Gemm {
  Op op;
  size_t m, n, k;
  bool trans_a() const { return op == Op::kWeightGrad; }
  bool trans_b() const { return op == Op::kInputGrad; }
  size_t lda() const { return trans_a() ? m : k; }
  size_t ldb() const { return trans_b() ? k : n; }
  float a(const float* x, size_t i, size_t p) const { return trans_a() ? x[p * m + i] : x[i * k + p]; }
  float b(const float* x, size_t p, size_t j) const { return trans_b() ? x[j * k + p] : x[p * n + j]; }
};

std::vector<Gemm> step_gemms() {
  using enum mlpbench::Activation;
  const std::vector<std::vector<mlpbench::LayerSpec>> models = {
      {{512, kRelu}, {10, kSoftmax}}, {{64, kRelu}, {32, kRelu}, {10, kSoftmax}}};
  std::vector<Gemm> out;
  for (const auto& spec : models) {
    const mlpbench::Mlp model(kInputs, spec);
    for (size_t batch : {32, 256}) {
      for (size_t l = 0; l < model.layers().size(); ++l) {
        const auto& layer = model.layers()[l];
        out.push_back({Op::kForward, batch, layer.out, layer.in});
        out.push_back({Op::kWeightGrad, layer.in, layer.out, batch});
        if (l > 0) out.push_back({Op::kInputGrad, batch, layer.in, layer.out});
      }
    }
  }
  return out;
}

// Operands as stored, filled once per benchmark, and the float64 check of a result.
struct Operands {
  Gemm g;
  FloatBuffer a, b, c;
  explicit Operands(const Gemm& gemm) : g(gemm), a(gemm.m * gemm.k), b(gemm.k * gemm.n), c(gemm.m * gemm.n) {
    std::mt19937 rng(static_cast<uint32_t>(g.m * 131 + g.n * 17 + g.k));
    std::uniform_real_distribution<float> dist(-1, 1);
    for (float& x : a) x = dist(rng);
    for (float& x : b) x = dist(rng);
  }
  // Empty when C(i, j) = at(i, j) is the product within float32's bound, else what is wrong.
  template <typename At>
  std::string check(At&& at) const {
    for (size_t i = 0; i < g.m; ++i) {
      for (size_t j = 0; j < g.n; ++j) {
        double sum = 0, magnitude = 0;
        for (size_t p = 0; p < g.k; ++p) {
          const double t = static_cast<double>(g.a(a.data(), i, p)) * g.b(b.data(), p, j);
          sum += t;
          magnitude += std::abs(t);
        }
        const double got = at(i, j);
        if (!(std::abs(got - sum) <= 2.0 * static_cast<double>(g.k) * FLT_EPSILON * magnitude + 1e-30)) {
          return "C(" + std::to_string(i) + ", " + std::to_string(j) + ") = " + std::to_string(got) +
                 ", float64 reference " + std::to_string(sum);
        }
      }
    }
    return "";
  }
  std::string check_row_major() const {
    return check([&](size_t i, size_t j) { return static_cast<double>(c[i * g.n + j]); });
  }
};

// The result's check, before timing: a wrong product is the benchmark's error and the exit status.
bool verified(State& state, const Gemm& g, const std::string& what) {
  if (what.empty()) return true;
  ++g_wrong;
  const std::string text = "wrong product: " + what;
  std::fprintf(stderr, "vendor_gemm: %s m:%zu n:%zu k:%zu: %s\n", op_name(g.op), g.m, g.n, g.k, text.c_str());
  state.SkipWithError(text.c_str());
  return false;
}

void set_gflops(State& state, const Gemm& g) {
  mlpbench::bench::set_rate(state, "GFLOPS", 2.0 * static_cast<double>(g.m * g.n * g.k) * 1e-9);
}

// ---- The libraries -------------------------------------------------------------------------

void BM_Engine(State& state, Gemm g, int threads) {
  Operands o(g);
  // The step's layouts: W in column panels for the forward GEMM, dW written in panels, and the
  // input gradient against W^T [out x in] (the step keeps that transposed copy).
  FloatBuffer b(g.k * g.n);
  kernels::GemmArgs args;
  args.m = g.m, args.n = g.n, args.k = g.k;
  args.a = o.a.data();
  args.a_row_stride = g.trans_a() ? 1 : g.k;
  args.a_col_stride = g.trans_a() ? g.m : 1;
  for (size_t p = 0; p < g.k; ++p) {
    for (size_t j = 0; j < g.n; ++j) {
      const size_t at = g.op == Op::kForward ? kernels::panel_index(p, j, g.k, g.n) : p * g.n + j;
      b[at] = g.b(o.b.data(), p, j);
    }
  }
  args.b = b.data(), args.ldb = g.n, args.b_panels = g.op == Op::kForward;
  args.c = o.c.data(), args.ldc = g.n, args.c_panels = g.op == Op::kWeightGrad;
  mlpbench::run_team(threads, [&](Team& team) { kernels::gemm(args, team.part()); });
  const std::string wrong = o.check([&](size_t i, size_t j) {
    return static_cast<double>(o.c[args.c_panels ? kernels::panel_index(i, j, g.m, g.n) : i * g.n + j]);
  });
  if (!verified(state, g, wrong)) return;
  mlpbench::bench::team_loop(state, threads, [&](Team& team, uint64_t) { kernels::gemm(args, team.part()); });
  set_gflops(state, g);
}

void BM_OnednnSgemm(State& state, Gemm g, int threads) {
  Operands o(g);
  omp_set_num_threads(threads);
  auto run = [&] {
    const auto status = dnnl_sgemm(g.trans_a() ? 'T' : 'N', g.trans_b() ? 'T' : 'N', static_cast<dnnl_dim_t>(g.m),
                                   static_cast<dnnl_dim_t>(g.n), static_cast<dnnl_dim_t>(g.k), 1.0f, o.a.data(),
                                   static_cast<dnnl_dim_t>(g.lda()), o.b.data(), static_cast<dnnl_dim_t>(g.ldb()),
                                   0.0f, o.c.data(), static_cast<dnnl_dim_t>(g.n));
    return status == dnnl_success;
  };
  if (!verified(state, g, run() ? o.check_row_major() : "dnnl_sgemm failed")) return;
  for (auto _ : state) run();
  set_gflops(state, g);
}

void BM_OnednnMatmul(State& state, Gemm g, int threads) {
  using dnnl::memory;
  Operands o(g);
  omp_set_num_threads(threads);  // before the primitive is created: it partitions for this count
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const auto m = static_cast<memory::dim>(g.m), n = static_cast<memory::dim>(g.n), k = static_cast<memory::dim>(g.k);
  const memory::desc a_md({m, k}, memory::data_type::f32, g.trans_a() ? memory::dims{1, m} : memory::dims{k, 1});
  const memory::desc b_md({k, n}, memory::data_type::f32, g.trans_b() ? memory::dims{1, k} : memory::dims{n, 1});
  const memory::desc c_md({m, n}, memory::data_type::f32, memory::dims{n, 1});
  const dnnl::matmul::primitive_desc pd({a_md, b_md, c_md}, engine);
  const dnnl::matmul matmul(pd);
  memory a(a_md, engine, o.a.data()), b(b_md, engine, o.b.data()), c(c_md, engine, o.c.data());
  const std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
  matmul.execute(stream, args);
  stream.wait();
  if (!verified(state, g, o.check_row_major())) return;
  for (auto _ : state) {
    matmul.execute(stream, args);
    stream.wait();
  }
  state.SetLabel(pd.impl_info_str());
  set_gflops(state, g);
}

// OpenBLAS, opened by path with its own symbols bound first (RTLD_DEEPBIND): BLIS, linked into
// this binary, exports the same cblas_* names.
struct OpenBlas {
  using Sgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
  Sgemm sgemm = nullptr;
  void (*set_threads)(int) = nullptr;
  std::string describe;

  static const OpenBlas& get() {
    static const OpenBlas blas = [] {
      OpenBlas b;
      void* h = dlopen(MLPBENCH_OPENBLAS_LIBRARY, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (!h) {
        b.describe = std::string("not loaded: ") + dlerror();
        return b;
      }
      b.sgemm = reinterpret_cast<Sgemm>(dlsym(h, "cblas_sgemm"));
      b.set_threads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
      auto config = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_config"));
      auto core = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_corename"));
      b.describe = std::string(config ? config() : "OpenBLAS") + ", kernel " + (core ? core() : "unknown") + " (" +
                   MLPBENCH_OPENBLAS_LIBRARY + ")";
      for (const char* key : {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}) {
        if (const char* v = std::getenv(key)) b.describe += std::string(", ") + key + "=" + v;
      }
      if (!b.sgemm || !b.set_threads) b.describe = std::string("no cblas_sgemm in ") + MLPBENCH_OPENBLAS_LIBRARY;
      return b;
    }();
    return blas;
  }
};

void BM_OpenBlas(State& state, Gemm g, int threads) {
  const OpenBlas& blas = OpenBlas::get();
  if (!blas.sgemm) {
    state.SkipWithError(("OpenBLAS " + blas.describe).c_str());
    return;
  }
  Operands o(g);
  blas.set_threads(threads);
  constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;  // CBLAS' enumerations
  auto run = [&] {
    blas.sgemm(kRowMajor, g.trans_a() ? kTrans : kNoTrans, g.trans_b() ? kTrans : kNoTrans, static_cast<int>(g.m),
               static_cast<int>(g.n), static_cast<int>(g.k), 1.0f, o.a.data(), static_cast<int>(g.lda()),
               o.b.data(), static_cast<int>(g.ldb()), 0.0f, o.c.data(), static_cast<int>(g.n));
  };
  run();
  if (!verified(state, g, o.check_row_major())) return;
  for (auto _ : state) run();
  set_gflops(state, g);
}

void BM_Blis(State& state, Gemm g, int threads) {
  Operands o(g);
  bli_thread_set_num_threads(threads);
  float one = 1, zero = 0;
  auto run = [&] {
    // Row-major operands: row stride ld, column stride 1; transposes by flag.
    bli_sgemm(g.trans_a() ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, g.trans_b() ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
              static_cast<dim_t>(g.m), static_cast<dim_t>(g.n), static_cast<dim_t>(g.k), &one, o.a.data(),
              static_cast<inc_t>(g.lda()), 1, o.b.data(), static_cast<inc_t>(g.ldb()), 1, &zero, o.c.data(),
              static_cast<inc_t>(g.n), 1);
  };
  run();
  if (!verified(state, g, o.check_row_major())) return;
  for (auto _ : state) run();
  set_gflops(state, g);
}

// ---- BLIS's architecture --------------------------------------------------------------------

int blis_arch_id(const std::string& name) {
  for (int id = 0; id < BLIS_NUM_ARCHS; ++id) {
    if (name == bli_arch_string(static_cast<arch_t>(id))) return id;
  }
  return -1;
}

// Sets BLIS_ARCH_TYPE before BLIS's first call (which reads it); returns how it was chosen.
std::string choose_blis_arch(const std::string& flag) {
  if (!flag.empty()) {
    setenv("BLIS_ARCH_TYPE", std::to_string(blis_arch_id(flag)).c_str(), 1);
    return "--blis-arch";
  }
  if (const char* env = std::getenv("BLIS_ARCH_TYPE"); env && *env) return "BLIS_ARCH_TYPE";
  const char* best = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") ? "skx"
                     : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "zen3"
                                                                                     : nullptr;
  if (!best) return "BLIS's detection";
  setenv("BLIS_ARCH_TYPE", std::to_string(blis_arch_id(best)).c_str(), 1);
  return std::string("best for this CPU's ISA (") + best + ")";
}

// ---- Registration and command line ----------------------------------------------------------

void register_all(int all_threads) {
  struct Library {
    const char* name;
    void (*fn)(State&, Gemm, int);
  };
  const Library libraries[] = {{"engine", BM_Engine}, {"onednn_sgemm", BM_OnednnSgemm},
                               {"onednn_matmul", BM_OnednnMatmul}, {"openblas", BM_OpenBlas},
                               {"blis", BM_Blis}};
  std::vector<int> thread_counts = {1};
  if (all_threads > 1) thread_counts.push_back(all_threads);
  for (const Gemm& g : step_gemms()) {
    for (int threads : thread_counts) {
      for (const Library& lib : libraries) {
        const std::string name = std::string("BM_VendorGemm/") + op_name(g.op) + "/m:" + std::to_string(g.m) +
                                 "/n:" + std::to_string(g.n) + "/k:" + std::to_string(g.k) +
                                 "/threads:" + std::to_string(threads) + "/" + lib.name;
        benchmark::RegisterBenchmark(name.c_str(), [g, threads, fn = lib.fn](State& s) { fn(s, g, threads); })
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::string> threads_flag, blis_flag;  // given empty is not "not given"
  bool help = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--threads=", 0) == 0) {
      threads_flag = arg.substr(std::strlen("--threads="));
    } else if (arg.rfind("--blis-arch=", 0) == 0) {
      blis_flag = arg.substr(std::strlen("--blis-arch="));
    } else {
      if (arg == "--help" || arg == "-h") help = true;
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  argv[argc] = nullptr;
  if (help) {
    std::printf("vendor_gemm options (besides Google Benchmark's, listed below):\n"
                "  --threads=N         the all-threads count, 1 to 1024 (default: $MLPBENCH_THREADS, else all %d CPUs)\n"
                "  --blis-arch=NAME    BLIS configuration (default: BLIS_ARCH_TYPE, else the best for this CPU)\n\n",
                mlpbench::available_cpus());
  }
  const std::optional<int> threads = mlpbench::bench::team_size("vendor_gemm", threads_flag);
  if (!threads || mlpbench::bench::given_empty("vendor_gemm", "--blis-arch", blis_flag)) return 2;
  const std::string blis = blis_flag.value_or("");
  if (!blis.empty() && blis_arch_id(blis) < 0) {
    std::fprintf(stderr, "vendor_gemm: --blis-arch: unknown BLIS configuration '%s'\n", blis.c_str());
    return 2;
  }
  const std::string blis_choice = choose_blis_arch(blis);
  bli_init();  // reads BLIS_ARCH_TYPE; bli_arch_query_id() before it would abort when that is set

  if (!mlpbench::bench::check_benchmark_flags(argc, argv, "vendor_gemm")) return 2;
  register_all(*threads);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  mlpbench::bench::add_context(kernels::active_target(), *threads, kernels::supported_targets());
  const dnnl::version_t* v = dnnl::version();
  benchmark::AddCustomContext("vendor_onednn", "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) +
                                                   "." + std::to_string(v->patch));
  benchmark::AddCustomContext("vendor_openblas", OpenBlas::get().describe);
  benchmark::AddCustomContext("vendor_blis", std::string("BLIS ") + bli_info_get_version_str());
  benchmark::AddCustomContext("vendor_blis_arch", bli_arch_string(bli_arch_query_id()));
  benchmark::AddCustomContext("vendor_blis_arch_chosen_by", blis_choice);

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (!mlpbench::bench::finish_benchmark_out("vendor_gemm")) return 1;
  if (g_wrong > 0) {
    std::fprintf(stderr, "vendor_gemm: %d benchmark(s) computed a wrong product (see above)\n", g_wrong.load());
    return 1;
  }
  return 0;
}
