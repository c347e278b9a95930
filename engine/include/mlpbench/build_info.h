#pragma once
// What this build is and what machine it runs on: the facts that make two runs comparable.
#include <string>

#include <nlohmann/json.hpp>

namespace mlpbench {

std::string version();
std::string git_commit();
// version, git_commit, compiler, build_type, cxx_flags, simd_config, simd_targets_compiled, openmp
nlohmann::json build_json();
// cpu_model, cpu_id (vendor, family, model, stepping), caches (bytes: L1d, L2, L3), logical_cpus,
// simd_targets_supported, hostname, load_average (1/5/15 min, at start)
nlohmann::json host_json();

}  // namespace mlpbench
