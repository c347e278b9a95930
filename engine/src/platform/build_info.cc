#include "mlpbench/build_info.h"

#include <unistd.h>

#include <exception>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "mlpbench/build_config.h"
#include "mlpbench/build_flags.h"
#include "mlpbench/git_commit.h"
#include "mlpbench/kernels.h"
#include "mlpbench/parallel.h"

namespace mlpbench {
namespace {

// The first processor's "key : value" lines of /proc/cpuinfo (the first value of each key).
std::map<std::string, std::string> cpuinfo() {
  std::map<std::string, std::string> fields;
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(name.find_last_not_of(" \t") + 1);
    const auto value = line.find_first_not_of(' ', colon + 1);
    fields.emplace(name, value == std::string::npos ? "" : line.substr(value));
  }
  return fields;
}

std::string field(const std::map<std::string, std::string>& fields, const std::string& key) {
  const auto it = fields.find(key);
  return it == fields.end() ? "" : it->second;
}

std::string cpu_model(const std::map<std::string, std::string>& info) {
  const std::string name = field(info, "model name");
  return name.empty() ? "unknown" : name;
}

// Vendor, family, model and stepping as CPUID reports them: a VM often masks the model name
// ("AMD EPYC"), but these still tell the microarchitecture (AMD family 25 model 17: Zen 4).
std::string cpu_id(const std::map<std::string, std::string>& info) {
  const std::string vendor = field(info, "vendor_id");
  if (vendor.empty()) return "unknown";
  return vendor + " family " + field(info, "cpu family") + " model " + field(info, "model") +
         " stepping " + field(info, "stepping");
}

// Data and unified cache sizes of CPU 0 in bytes, by name ("L1d", "L2", "L3").
nlohmann::json caches() {
  nlohmann::json out = nlohmann::json::object();
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level_file(dir + "level"), type_file(dir + "type"), size_file(dir + "size");
    int level = 0;
    std::string type, size;
    if (!(level_file >> level) || !(type_file >> type) || !(size_file >> size)) break;
    if (type == "Instruction" || size.empty()) continue;
    size_t bytes = 0;
    const char unit = size.back();
    try {
      bytes = std::stoul(size);
    } catch (const std::exception&) {
      continue;
    }
    if (unit == 'K') bytes <<= 10;
    if (unit == 'M') bytes <<= 20;
    out["L" + std::to_string(level) + (type == "Data" ? "d" : "")] = bytes;
  }
  return out;
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
  const auto info = cpuinfo();
  return {{"cpu_model", cpu_model(info)},
          {"cpu_id", cpu_id(info)},
          {"caches", caches()},
          {"logical_cpus", available_cpus()},
          {"simd_targets_supported", kernels::supported_targets()},
          {"hostname", host},
          {"load_average", load_average()}};
}

}  // namespace mlpbench
