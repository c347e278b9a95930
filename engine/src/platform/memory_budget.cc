#include "platform/memory_budget.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "mlpbench/model.h"

namespace mlpbench {
namespace {

// Saturating arithmetic: a hostile experiment must not wrap the estimate around to "small".
uint64_t add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
uint64_t mul(uint64_t a, uint64_t b) { return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b; }

uint64_t meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      uint64_t kb = 0;
      std::istringstream(line.substr(key.size() + 1)) >> kb;
      return mul(kb, 1024);
    }
  }
  return 0;
}

// A limit file's number; "max" and anything unreadable mean no limit.
uint64_t read_limit(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return UINT64_MAX;
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return UINT64_MAX;
  }
}

void tighten(MemoryLimit& m, uint64_t bytes, const std::string& source) {
  if (bytes < m.bytes) {
    m.bytes = bytes;
    m.source = source;
  }
}

uint64_t mapped_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmSize:", 0) == 0) {
      uint64_t kb = 0;
      std::istringstream(line.substr(7)) >> kb;
      return mul(kb, 1024);
    }
  }
  return 0;
}

}  // namespace

uint64_t training_memory_bytes(const Experiment& e, uint64_t inputs, uint64_t eval_rows) {
  uint64_t params = 0, units = 0, transposed = 0, in = inputs;
  for (size_t i = 0; i < e.model.size(); ++i) {
    const uint64_t out = static_cast<uint64_t>(e.model[i].units);
    params = add(params, add(mul(in, out), out));
    if (in != inputs) transposed = add(transposed, mul(in, out));
    // an output and a delta a unit (the delta's row maybe padded: delta_row_stride)
    units = add(units, add(out, delta_row_stride(out, i + 1 == e.model.size())));
    in = out;
  }
  const uint64_t optimizer = e.optimizer.kind == OptimizerKind::kAdam ? 2 : 1;
  auto workspace = [&](uint64_t rows, uint64_t buffers) {
    // inputs (one or two buffers), outputs and deltas per layer, gradients, transposed kernels
    return add(add(mul(mul(rows, inputs), buffers), mul(rows, units)), add(params, transposed));
  };
  uint64_t floats = mul(params, 1 + optimizer);                    // model and optimizer state
  floats = add(floats, workspace(static_cast<uint64_t>(e.batch_size), 2));
  floats = add(floats, workspace(eval_rows, 1));
  floats = add(floats, mul(params, 2 + optimizer));                // a checkpoint being encoded
  return mul(floats, 4);
}

MemoryLimit memory_limit() {
  MemoryLimit m;
  const uint64_t ram = add(meminfo_bytes("MemTotal"), meminfo_bytes("SwapTotal"));
  if (ram > 0) tighten(m, ram, "RAM + swap (/proc/meminfo)");
  // cgroup v2: the path after "0::" in /proc/self/cgroup, and each of its parents.
  std::ifstream cg("/proc/self/cgroup");
  std::string line;
  while (std::getline(cg, line)) {
    if (line.rfind("0::", 0) == 0) {
      std::string path = line.substr(3);
      for (;;) {
        const std::string file = "/sys/fs/cgroup" + (path == "/" ? "" : path) + "/memory.max";
        tighten(m, read_limit(file), "cgroup limit " + file);
        if (path.empty() || path == "/") break;
        path = path.substr(0, path.find_last_of('/'));
        if (path.empty()) path = "/";
      }
    }
  }
  tighten(m, read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes"), "cgroup v1 memory.limit_in_bytes");
  const uint64_t mapped = mapped_bytes();
  for (const auto& [resource, name] : {std::pair{RLIMIT_AS, "RLIMIT_AS (ulimit -v)"}, std::pair{RLIMIT_DATA, "RLIMIT_DATA (ulimit -d)"}}) {
    struct rlimit r {};
    if (getrlimit(resource, &r) == 0 && r.rlim_cur != RLIM_INFINITY) {
      const uint64_t cur = static_cast<uint64_t>(r.rlim_cur);
      tighten(m, cur > mapped ? cur - mapped : 0, std::string(name) + " less what is mapped already");
    }
  }
  return m;
}

std::string format_bytes(uint64_t bytes) {
  char buf[64];
  if (bytes == UINT64_MAX) return "unlimited";
  if (bytes < (uint64_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1u << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1u << 30));
  }
  return buf;
}

}  // namespace mlpbench
