#include "mlpbench/default_paths.h"

#include <cstdlib>
#include <filesystem>

namespace mlpbench {
namespace fs = std::filesystem;
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : "";
}

}  // namespace

std::string checkout_root() {
  std::error_code ec;
  const fs::path here = fs::current_path(ec);
  for (fs::path p = here; !p.empty(); p = p.parent_path()) {
    if (fs::is_directory(p / "experiments", ec) && fs::is_directory(p / "engine", ec)) return p.string();
    if (p == p.root_path()) break;
  }
  return here.string();
}

std::string default_data_dir() {
  const std::string env = env_or_empty("MLPBENCH_DATA");
  return !env.empty() ? env : checkout_root() + "/data";
}

std::string default_runs_dir() {
  const std::string env = env_or_empty("MLPBENCH_RUNS");
  return !env.empty() ? env : checkout_root() + "/results/runs";
}

}  // namespace mlpbench
