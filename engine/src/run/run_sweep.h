#pragma once
// A sweep (--sweep-threads, --sweep-simd, --sweep-batch-size): every run's files checked before
// the first starts, the runs one after another in this process, then the table (docs/cli.md).
#include <string>
#include <vector>

#include "io/run_lock.h"
#include "mlpbench/run_plan.h"
#include "mlpbench/runner.h"
#include "run_one.h"

namespace mlpbench {

// The plan's runs (plan.runs); `inputs`: every file the runs read (no output may replace one).
int run_sweep(const RunPlan& plan, const RunData& data, const RunOptions& o,
              const std::vector<std::string>& inputs, RunLocks& locks);

// Throws ConfigError naming `option` unless `name` is a compiled and supported SIMD target,
// which it makes the active one.
void select_target_or_throw(const std::string& name, const char* option);

}  // namespace mlpbench
