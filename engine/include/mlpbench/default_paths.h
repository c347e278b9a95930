#pragma once
// Where a run reads and writes when its command line does not say (docs/cli.md): found at run
// time from the current folder and the environment, never from a path compiled into the
// binary, so that a copied or moved tree reads and writes only its own folders.
#include <string>

namespace mlpbench {

// The checkout that holds the current folder: the nearest folder at or above it with both
// experiments/ and engine/; the current folder if there is none.
std::string checkout_root();
// $MLPBENCH_DATA, else <checkout>/data.
std::string default_data_dir();
// $MLPBENCH_RUNS, else <checkout>/results/runs: default logs go to <this>/<experiment name>/.
std::string default_runs_dir();

}  // namespace mlpbench
