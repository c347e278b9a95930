#pragma once
// What the Google Benchmark binaries of bench/ share: timing a kernel on the engine's team, rate
// counters, and the context keys tools/track.py reads to tell machines and builds apart.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mlpbench/build_info.h"
#include "mlpbench/parallel.h"

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
