#pragma once
// How much memory a training run needs, and how much this process may use, so that a run too
// large for the machine is refused with the figures before anything big is allocated (instead
// of being killed by the kernel without a word).
#include <cstdint>
#include <string>

#include "mlpbench/experiment.h"

namespace mlpbench {

// Bytes for the model, its gradients and transposed kernels, the optimizer state, the training
// batch (double-buffered activations and deltas at the batch size), the evaluation batch of
// `eval_rows`, and a checkpoint's encoding. `inputs`: pixels per image.
uint64_t training_memory_bytes(const Experiment& e, uint64_t inputs, uint64_t eval_rows);

struct MemoryLimit {
  uint64_t bytes = UINT64_MAX;
  std::string source;  // what sets it, e.g. "cgroup memory.max" or "RAM + swap"
};
// The tightest of: RAM + swap (/proc/meminfo), the cgroup's limit (v2 memory.max along the
// process's cgroup path, or v1 memory.limit_in_bytes), RLIMIT_AS and RLIMIT_DATA (less what
// the process maps already).
MemoryLimit memory_limit();

std::string format_bytes(uint64_t bytes);

}  // namespace mlpbench
