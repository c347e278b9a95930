#pragma once
// What the Google Benchmark binaries of bench/ share: timing a kernel on the engine's team, rate
// counters, and the context keys tools/track.py reads to tell machines and builds apart.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "mlpbench/build_info.h"
#include "mlpbench/option_table.h"
#include "mlpbench/parallel.h"
// bench/CMakeLists.txt gives these programs the engine's public headers only; cli_options.h is
// header-only (integer_in: the digits-only integers of run_experiment).
#include "../engine/apps/include/mlpbench/cli_options.h"

namespace mlpbench::bench {

// Rate counter: `per_iteration` units per iteration, divided by the (real) time.
inline void set_rate(benchmark::State& state, const char* name, double per_iteration) {
  state.counters[name] = benchmark::Counter(per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

// Runs `iteration(team, i)` for every benchmark iteration i on one team of `threads` that lives
// for the whole timing loop (mlp_bench.cc's header says why). `iteration` is called by every
// thread with the same i; a barrier follows each call.
template <typename Iteration>
void team_loop(benchmark::State& state, int threads, Iteration&& iteration) {
  // Exactly what `for (auto _ : state)` will run (benchmark.h: StateIterator).
  const benchmark::IterationCount n = state.error_occurred() ? 0 : state.max_iterations;
  mlpbench::run_team(threads, [&](Team& team) {
    if (team.leader()) {
      uint64_t i = 0;
      for (auto _ : state) {
        iteration(team, i++);
        team.sync();
      }
    } else {
      for (benchmark::IterationCount i = 0; i < n; ++i) {
        iteration(team, static_cast<uint64_t>(i));
        team.sync();
      }
    }
  });
}

// The team size: `flag` (--threads=N) if given, else $MLPBENCH_THREADS if set, else every CPU.
// Digits only, from 1 to run_experiment's largest --threads (99999 crashed the OpenMP runtime);
// an empty value is refused, not taken for "not given" (it is usually a shell variable that
// expanded to nothing). Nothing, after a message naming the program, when it is not a count.
inline std::optional<int> team_size(const char* program, const std::optional<std::string>& flag) {
  const char* env = std::getenv("MLPBENCH_THREADS");
  if (!flag && !env) return mlpbench::available_cpus();
  const std::string text = flag ? *flag : env;
  const uint64_t most = mlpbench::cli::option_rule("--threads")->range.hi;
  const std::string error = text.empty() ? "an empty value" : mlpbench::cli::integer_in(1, most)(text);
  if (!error.empty()) {
    std::fprintf(stderr, "%s: %s: %s\n", program, flag ? "--threads" : "MLPBENCH_THREADS", error.c_str());
    return std::nullopt;
  }
  return std::stoi(text);
}

// True, after a message naming the program and the flag, when `value` was given empty
// ("--flag="): that would silently mean the default.
inline bool given_empty(const char* program, const char* flag, const std::optional<std::string>& value) {
  if (!value || !value->empty()) return false;
  std::fprintf(stderr, "%s: %s: an empty value\n", program, flag);
  return true;
}

inline std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

// The mlpbench_* context of a record: build, machine and run facts (tools/track_store.py keys a
// series on them). `simd_target`: the active target, or "all".
inline void add_context(const std::string& simd_target, int threads,
                        const std::vector<std::string>& supported_targets) {
  const nlohmann::json build = mlpbench::build_json();
  const nlohmann::json host = mlpbench::host_json();
  benchmark::AddCustomContext("mlpbench_simd_target", simd_target);
  benchmark::AddCustomContext("mlpbench_threads", std::to_string(threads));
  benchmark::AddCustomContext("mlpbench_git_commit", mlpbench::git_commit());
  benchmark::AddCustomContext("mlpbench_build_type", build.value("build_type", ""));
  benchmark::AddCustomContext("mlpbench_simd_compiled",
                              join(build.value("simd_targets_compiled", std::vector<std::string>{})));
  benchmark::AddCustomContext("mlpbench_simd_supported", join(supported_targets));
  benchmark::AddCustomContext("mlpbench_openmp", build.value("openmp", false) ? "true" : "false");
  benchmark::AddCustomContext("mlpbench_version", mlpbench::version());
  benchmark::AddCustomContext("mlpbench_compiler", build.value("compiler", ""));
  // The build and machine keys of tools/track.py: flags and SIMD config tell builds apart,
  // memory completes the machine's fingerprint (Google Benchmark records CPUs and caches).
  benchmark::AddCustomContext("mlpbench_cxx_flags", build.value("cxx_flags", ""));
  benchmark::AddCustomContext("mlpbench_simd_config", build.value("simd_config", ""));
  benchmark::AddCustomContext(
      "mlpbench_memory_bytes",
      std::to_string(static_cast<unsigned long long>(sysconf(_SC_PHYS_PAGES)) *
                     static_cast<unsigned long long>(sysconf(_SC_PAGESIZE))));
  benchmark::AddCustomContext("mlpbench_cpu_model", host.value("cpu_model", ""));
  benchmark::AddCustomContext("mlpbench_cpu_id", host.value("cpu_id", ""));
}

}  // namespace mlpbench::bench
