#include "mlpbench/placement.h"

#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "mlpbench/parallel.h"

namespace mlpbench {
namespace {

// The variables libgomp reads for placement; OMP_NUM_THREADS and OMP_WAIT_POLICY because they
// decide how many threads compete for the CPUs and whether waiting ones yield them.
constexpr const char* kAffinityVariables[] = {"OMP_PROC_BIND",   "OMP_PLACES",
                                              "GOMP_CPU_AFFINITY", "OMP_NUM_THREADS",
                                              "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"};

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return in ? line : std::string();
}

long migrations_of(long tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/sched");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("se.nr_migrations", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return -1;
    char* end = nullptr;
    const long n = std::strtol(line.c_str() + colon + 1, &end, 10);
    return end == line.c_str() + colon + 1 ? -1 : n;
  }
  return -1;
}

std::string cpu_text(int cpu) { return cpu < 0 ? "?" : std::to_string(cpu); }

}  // namespace

std::string core_of_cpu(int cpu, const std::string& sysfs) {
  if (cpu < 0) return "";
  const std::string dir = sysfs + "/cpu" + std::to_string(cpu) + "/topology/";
  const std::string package = read_first_line(dir + "physical_package_id");
  const std::string core = read_first_line(dir + "core_id");
  if (package.empty() || core.empty()) return "";
  return package + ":" + core;
}

PlacementSample sample_placement(int threads) {
  PlacementSample sample;
  std::mutex mutex;
  run_team(threads, [&](Team& team) {
    ThreadSeat seat;
    seat.tid = static_cast<long>(gettid());
    seat.cpu = sched_getcpu();
    seat.core = core_of_cpu(seat.cpu);
    seat.migrations = migrations_of(seat.tid);
    const std::lock_guard lock(mutex);
    const auto index = static_cast<size_t>(team.part().index);
    if (sample.threads.size() < static_cast<size_t>(team.part().count)) {
      sample.threads.resize(static_cast<size_t>(team.part().count));
    }
    sample.threads[index] = seat;
  });
  return sample;
}

Placement placement_at_start(int threads) {
  Placement p;
  for (const char* name : kAffinityVariables) {
    if (const char* value = std::getenv(name)) p.env[name] = value;
  }
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &mask)) p.allowed_cpus.push_back(cpu);
    }
  }
  p.start = sample_placement(threads);
  return p;
}

std::vector<std::string> placement_warnings(const Placement& p) {
  std::vector<std::string> warnings;
  for (const PlacementSample* sample : {&p.start, &p.end}) {
    const char* when = sample == &p.start ? "at the start" : "at the end";
    const auto& t = sample->threads;
    for (size_t i = 0; i < t.size(); ++i) {
      for (size_t j = i + 1; j < t.size(); ++j) {
        if (t[i].core.empty() || t[i].core != t[j].core) continue;
        std::ostringstream w;
        w << "threads " << i << " and " << j << " shared core " << t[i].core << " " << when
          << " (CPUs " << cpu_text(t[i].cpu) << " and " << cpu_text(t[j].cpu) << ")";
        warnings.push_back(w.str());
      }
    }
  }
  const size_t n = std::min(p.start.threads.size(), p.end.threads.size());
  for (size_t i = 0; i < n; ++i) {
    const ThreadSeat& a = p.start.threads[i];
    const ThreadSeat& b = p.end.threads[i];
    std::ostringstream w;
    w << "thread " << i;
    if (a.tid != b.tid) {
      w << " was another kernel thread at the end (" << a.tid << ", then " << b.tid
        << "): its migrations are unknown";
    } else if (a.migrations >= 0 && b.migrations > a.migrations) {
      w << " migrated " << b.migrations - a.migrations << " times (CPU " << cpu_text(a.cpu)
        << " at the start, " << cpu_text(b.cpu) << " at the end)";
    } else if (a.cpu != b.cpu) {
      w << " moved from CPU " << cpu_text(a.cpu) << " to CPU " << cpu_text(b.cpu);
    } else {
      continue;
    }
    warnings.push_back(w.str());
  }
  return warnings;
}

nlohmann::json placement_json(const Placement& p) {
  auto sample_json = [](const PlacementSample& s) {
    nlohmann::json threads = nlohmann::json::array();
    for (const ThreadSeat& t : s.threads) {
      nlohmann::json j = {{"tid", t.tid}, {"cpu", t.cpu >= 0 ? nlohmann::json(t.cpu) : nullptr},
                          {"core", t.core.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.core)}};
      j["migrations"] = t.migrations >= 0 ? nlohmann::json(t.migrations) : nullptr;
      threads.push_back(std::move(j));
    }
    return threads;
  };
  nlohmann::json j;
  j["env"] = p.env;
  j["allowed_cpus"] = p.allowed_cpus;
  j["start"] = sample_json(p.start);
  j["end"] = sample_json(p.end);
  j["warnings"] = placement_warnings(p);
  return j;
}

}  // namespace mlpbench
