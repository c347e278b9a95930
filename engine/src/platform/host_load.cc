#include "mlpbench/host_load.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace mlpbench {
namespace {

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; }

}  // namespace

HostLoadSample sample_host_load() {
  HostLoadSample s;
  s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  rusage self{};
  if (getrusage(RUSAGE_SELF, &self) == 0) s.self_s = seconds(self.ru_utime) + seconds(self.ru_stime);
  std::FILE* f = std::fopen("/proc/stat", "re");
  if (!f) return s;
  const double tick = 1.0 / static_cast<double>(std::max(1L, sysconf(_SC_CLK_TCK)));
  char line[512];
  int cpus = 0;
  bool total = false;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "cpu", 3) != 0) break;  // the cpu lines come first
    if (line[3] != ' ') {
      ++cpus;
      continue;
    }
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                       steal = 0;
    if (std::sscanf(line + 3, "%llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system,
                    &idle, &iowait, &irq, &softirq, &steal) >= 7) {
      s.busy_s = static_cast<double>(user + nice + system + irq + softirq) * tick;
      s.steal_s = static_cast<double>(steal) * tick;
      total = true;
    }
  }
  std::fclose(f);
  if (total) s.cpus = cpus;
  return s;
}

std::optional<HostLoadShare> host_load_between(const HostLoadSample& from, const HostLoadSample& to) {
  const double wall = to.wall_s - from.wall_s;
  if (from.cpus <= 0 || to.cpus != from.cpus || wall < 0.5) return std::nullopt;
  const double capacity = wall * to.cpus;
  HostLoadShare share;
  share.seconds = wall;
  share.cpus = to.cpus;
  share.others = std::clamp((to.busy_s - from.busy_s - (to.self_s - from.self_s)) / capacity, 0.0, 1.0);
  share.steal = std::clamp((to.steal_s - from.steal_s) / capacity, 0.0, 1.0);
  return share;
}

}  // namespace mlpbench
