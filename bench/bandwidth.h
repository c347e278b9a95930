#pragma once
// Memory bandwidth of this machine per cache level (bandwidth.cc): the slopes of the roofline
// (tools/plot_roofline.py, docs/benchmarks.md).
#include <cstddef>

namespace mlpbench::bench {

// Data cache sizes in bytes, 0 where the level is absent or unknown.
struct CacheSizes {
  size_t l1d = 0, l2 = 0, l3 = 0;
};

// From /sys/devices/system/cpu/cpu0/cache (the kernel's view of CPU 0), else sysconf.
CacheSizes cache_sizes();

// The cache sizes as context keys mlpbench_cache_{l1d,l2,l3}_bytes, and how stores are counted.
void add_cache_context();

// BM_Bandwidth/<kernel>/<level>/bytes:N for kernels copy, triad and sum and levels L1, L2, L3,
// DRAM, on a team of `threads`.
void register_bandwidth_benchmarks(int threads);

}  // namespace mlpbench::bench
