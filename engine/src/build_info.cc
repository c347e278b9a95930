#include "mlpbench/build_info.h"

#include <unistd.h>

#include <fstream>
#include <vector>

#include "mlpbench/build_config.h"
#include "mlpbench/git_commit.h"
#include "mlpbench/kernels.h"
#include "mlpbench/parallel.h"

namespace mlpbench {
namespace {

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

// The 1, 5 and 15-minute load averages: a busy machine explains slow timings.
std::vector<double> load_average() {
  std::ifstream f("/proc/loadavg");
  std::vector<double> loads(3, 0.0);
  for (double& l : loads) f >> l;
  return loads;
}

}  // namespace

std::string version() { return MLPBENCH_VERSION; }
std::string git_commit() { return MLPBENCH_GIT_COMMIT; }

nlohmann::json build_json() {
  return {{"version", MLPBENCH_VERSION},
          {"git_commit", MLPBENCH_GIT_COMMIT},
          {"compiler", MLPBENCH_COMPILER},
          {"build_type", MLPBENCH_BUILD_TYPE},
          {"cxx_flags", MLPBENCH_CXX_FLAGS},
          {"simd_config", MLPBENCH_SIMD_CONFIG},
          {"simd_targets_compiled", kernels::compiled_targets()},
          {"openmp", have_openmp()}};
}

nlohmann::json host_json() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return {{"cpu_model", cpu_model()},
          {"logical_cpus", available_cpus()},
          {"simd_targets_supported", kernels::supported_targets()},
          {"hostname", host},
          {"load_average", load_average()}};
}

}  // namespace mlpbench
