#pragma once
// Where a run's threads ran: the affinity settings it started with, the CPU (and core) each
// thread of the team was on when training started and when it ended, and how often the kernel
// moved each thread between the two (se.nr_migrations, where the kernel exposes it). A scaling
// study needs this to tell a pinned run from one the scheduler shuffled (docs/scaling.md).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlpbench {

struct ThreadSeat {
  long tid = 0;        // the kernel's thread id
  int cpu = -1;        // sched_getcpu(); -1: unknown
  std::string core;    // "package:core" from sysfs; empty: unknown
  long migrations = -1;  // the kernel's count for the thread so far; -1: not exposed
};

struct PlacementSample {
  std::vector<ThreadSeat> threads;  // by OpenMP thread number
};

struct Placement {
  std::map<std::string, std::string> env;  // the affinity variables that were set
  std::vector<int> allowed_cpus;           // the main thread's affinity mask (bound by OMP_PROC_BIND)
  PlacementSample start, end;
};

// Every thread of a team of `threads` (run_team) reports where it is.
PlacementSample sample_placement(int threads);
// The affinity environment (OMP_PROC_BIND, OMP_PLACES, GOMP_CPU_AFFINITY, ...) and mask.
Placement placement_at_start(int threads);

// "threads 0 and 1 shared core 0:3 (CPUs 3 and 3)", "thread 1 migrated 12 times", ...: empty
// when every thread had a core of its own and stayed on its CPU.
std::vector<std::string> placement_warnings(const Placement& p);

nlohmann::json placement_json(const Placement& p);

// "package:core" of a CPU from /sys/devices/system/cpu (empty when unreadable); a parameter
// so that tests can supply a topology.
std::string core_of_cpu(int cpu, const std::string& sysfs = "/sys/devices/system/cpu");

}  // namespace mlpbench
