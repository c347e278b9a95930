#pragma once
// What else the machine did while a run trained: the CPU time other processes used and the time
// the hypervisor took (steal), from /proc/stat and this process's own CPU time. The load average
// cannot tell this: it counts the run's own threads and trails the last minute.
#include <optional>

namespace mlpbench {

struct HostLoadSample {
  double busy_s = 0;   // all CPUs' user+nice+system+irq+softirq time since boot
  double steal_s = 0;  // all CPUs' steal time since boot
  double self_s = 0;   // this process's user+system time
  double wall_s = 0;   // steady clock
  int cpus = 0;        // online CPUs counted in /proc/stat; 0: no /proc/stat
};

// Shares of the machine's CPU time (all CPUs) between two samples.
struct HostLoadShare {
  double others = 0;  // used by other processes
  double steal = 0;   // taken by the hypervisor
  double seconds = 0;
  int cpus = 0;
};

HostLoadSample sample_host_load();
// Empty when /proc/stat is unreadable or less than half a second passed (the counters tick every
// 10 ms, too coarse for shorter spans).
std::optional<HostLoadShare> host_load_between(const HostLoadSample& from, const HostLoadSample& to);

}  // namespace mlpbench
