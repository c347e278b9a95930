#pragma once
// Error kinds and the exit status each maps to (the run_experiment contract).
#include <stdexcept>
#include <string>

namespace mlpbench {

enum ExitCode : int {
  kExitOk = 0,
  kExitOther = 1,
  kExitUsage = 2,      // bad command line or experiment file
  kExitData = 3,       // dataset missing or corrupt
  kExitDiverged = 4,   // NaN/Inf loss or weights
  kExitSighup = 129,
  kExitSigint = 130,
  kExitSigterm = 143,
};

// A bad experiment file or command line. what() names the file and the JSON path.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A dataset file that is missing, unreadable or corrupt. what() names the file.
struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace mlpbench
