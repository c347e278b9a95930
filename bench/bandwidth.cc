// STREAM-like memory bandwidth per cache level, for the roofline's slopes (docs/benchmarks.md).
//
// Kernels, over float arrays: copy a[i] = b[i]; triad a[i] = b[i] + s * c[i]; sum s += b[i]
// (read only). Stores are ordinary (not streaming) stores, so a store to a line that is not in
// the cache first reads it (write-allocate): bytes_per_second counts that read, 12 bytes per
// element for copy, 16 for triad, 4 for sum. Within a cache level the allocate read is served
// by the level itself, which is the traffic that level delivers.
//
// Working sets: a level's working set is all arrays of the kernel together, half the capacity
// the team has at that level, so that it stays resident there and not in the level above:
// L1 and L2 are private (each thread gets half of one core's cache, assuming one thread per
// core), L3 is shared (the team together gets half of it), DRAM is four times L3 and at least
// 64 MiB. Each thread works on its own arrays, allocated and first touched by itself (the
// memory of its NUMA node). An iteration repeats the kernel until each thread has moved at
// least kBytesPerIteration, so the team barrier that ends it is a small part of its time.
//
// The loops are compiled for several instruction sets (GCC target_clones on x86-64) and the
// widest one the CPU has runs, whatever --simd-target says: bandwidth is the machine's.
#include "bandwidth.h"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "bench_support.h"
#include "mlpbench/parallel.h"
#include "mlpbench/tensor.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MLPBENCH_WIDEST_ISA __attribute__((target_clones("avx512f", "avx2", "default"), noinline))
#else
#define MLPBENCH_WIDEST_ISA __attribute__((noinline))
#endif

namespace mlpbench::bench {
namespace {

constexpr size_t kBytesPerIteration = size_t{16} << 20;

MLPBENCH_WIDEST_ISA void copy_kernel(float* __restrict a, const float* __restrict b, size_t n) {
  for (size_t i = 0; i < n; ++i) a[i] = b[i];
}

MLPBENCH_WIDEST_ISA void triad_kernel(float* __restrict a, const float* __restrict b,
                                      const float* __restrict c, float s, size_t n) {
  for (size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

// Integer adds of the float bits: they vectorise without reordering float sums.
MLPBENCH_WIDEST_ISA uint32_t sum_kernel(const float* __restrict b, size_t n) {
  uint32_t total = 0;
  for (size_t i = 0; i < n; ++i) total += std::bit_cast<uint32_t>(b[i]);
  return total;
}

enum class Kernel { kCopy, kTriad, kSum };

struct KernelInfo {
  Kernel kernel;
  const char* name;
  size_t arrays;          // arrays the kernel touches
  size_t bytes_per_elem;  // bytes moved per element, write-allocate included
};

constexpr KernelInfo kKernels[] = {
    {Kernel::kCopy, "copy", 2, 12}, {Kernel::kTriad, "triad", 3, 16}, {Kernel::kSum, "sum", 1, 4}};

// The size in bytes of /sys/.../cache/indexN/size ("48K", "2048K", "32M"), 0 if unreadable.
size_t parse_cache_size(const std::string& text) {
  size_t value = 0, pos = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') value = value * 10 + (text[pos++] - '0');
  if (pos == 0) return 0;
  const char unit = pos < text.size() ? text[pos] : ' ';
  return unit == 'K' ? value << 10 : unit == 'M' ? value << 20 : unit == 'G' ? value << 30 : value;
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

void bandwidth(benchmark::State& state, const KernelInfo& k, size_t working_set, int threads) {
  const size_t per_thread = working_set / static_cast<size_t>(threads);
  const size_t n = std::max<size_t>(per_thread / (k.arrays * sizeof(float)), 16);
  const size_t repeats = std::max<size_t>(1, kBytesPerIteration / (n * k.arrays * sizeof(float)));
  std::vector<std::vector<FloatBuffer>> arrays(static_cast<size_t>(threads));
  mlpbench::run_team(threads, [&](Team& team) {  // each thread allocates and touches its own
    auto& mine = arrays[static_cast<size_t>(team.part().index)];
    for (size_t a = 0; a < k.arrays; ++a) {
      mine.emplace_back(n);
      std::fill(mine.back().begin(), mine.back().end(), 1.0f + static_cast<float>(a));
    }
  });
  std::vector<uint32_t> sums(static_cast<size_t>(threads));
  team_loop(state, threads, [&](Team& team, uint64_t) {
    const size_t t = static_cast<size_t>(team.part().index);
    auto& mine = arrays[t];
    for (size_t r = 0; r < repeats; ++r) {
      switch (k.kernel) {
        case Kernel::kCopy: copy_kernel(mine[0].data(), mine[1].data(), n); break;
        case Kernel::kTriad: triad_kernel(mine[0].data(), mine[1].data(), mine[2].data(), 0.5f, n); break;
        case Kernel::kSum: sums[t] += sum_kernel(mine[0].data(), n); break;
      }
    }
  });
  benchmark::DoNotOptimize(sums.data());
  const double bytes = static_cast<double>(threads) * repeats * n * k.bytes_per_elem;
  set_rate(state, "bytes_per_second", bytes);
  state.counters["working_set_bytes"] = static_cast<double>(n * k.arrays * sizeof(float) * threads);
}

}  // namespace

CacheSizes cache_sizes() {
  CacheSizes sizes;
  for (int index = 0; index < 16; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    const std::string level = read_line(dir + "level");
    if (level.empty()) break;
    const std::string type = read_line(dir + "type");
    const size_t size = parse_cache_size(read_line(dir + "size"));
    if (level == "1" && type == "Data") sizes.l1d = size;
    if (level == "2" && type != "Instruction") sizes.l2 = size;
    if (level == "3" && type != "Instruction") sizes.l3 = size;
  }
#ifdef _SC_LEVEL1_DCACHE_SIZE
  auto from_sysconf = [](size_t& out, int name) {
    const long value = sysconf(name);
    if (out == 0 && value > 0) out = static_cast<size_t>(value);
  };
  from_sysconf(sizes.l1d, _SC_LEVEL1_DCACHE_SIZE);
  from_sysconf(sizes.l2, _SC_LEVEL2_CACHE_SIZE);
  from_sysconf(sizes.l3, _SC_LEVEL3_CACHE_SIZE);
#endif
  return sizes;
}

void add_cache_context() {
  const CacheSizes sizes = cache_sizes();
  benchmark::AddCustomContext("mlpbench_cache_l1d_bytes", std::to_string(sizes.l1d));
  benchmark::AddCustomContext("mlpbench_cache_l2_bytes", std::to_string(sizes.l2));
  benchmark::AddCustomContext("mlpbench_cache_l3_bytes", std::to_string(sizes.l3));
  benchmark::AddCustomContext("mlpbench_bandwidth_stores", "ordinary stores, write-allocate read counted");
}

void register_bandwidth_benchmarks(int threads) {
  const CacheSizes sizes = cache_sizes();
  const size_t t = static_cast<size_t>(threads);
  std::vector<std::pair<const char*, size_t>> levels;  // level, working set of the team
  if (sizes.l1d) levels.push_back({"L1", sizes.l1d / 2 * t});
  if (sizes.l2) levels.push_back({"L2", sizes.l2 / 2 * t});
  if (sizes.l3) levels.push_back({"L3", sizes.l3 / 2});
  levels.push_back({"DRAM", std::max(4 * sizes.l3, size_t{64} << 20)});
  for (const KernelInfo& k : kKernels) {
    for (const auto& [level, bytes] : levels) {
      const std::string name = std::string("BM_Bandwidth/") + k.name + "/" + level + "/bytes:" + std::to_string(bytes);
      benchmark::RegisterBenchmark(name.c_str(), [&k, bytes = bytes, threads](benchmark::State& s) {
        bandwidth(s, k, bytes, threads);
      })->UseRealTime()->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace mlpbench::bench
