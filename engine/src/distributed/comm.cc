// What every build knows about MPI: whether a launcher started us, and the stand-in for
// init_mpi() in builds without MPI.
#include "mlpbench/comm.h"

#include <cstdlib>

#include "mlpbench/errors.h"

namespace mlpbench {

bool launched_by_mpi() {
  // Open MPI's mpirun, PMIx launchers (Open MPI 4+, Slurm), and MPICH/Hydra's PMI.
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"}) {
    if (std::getenv(var)) return true;
  }
  return false;
}

#ifndef MLPBENCH_HAVE_MPI
bool have_mpi() { return false; }

std::unique_ptr<Comm> init_mpi() {
  throw ConfigError("--distributed: this run_experiment was built without MPI (install libopenmpi-dev "
                    "and configure with -DMLPBENCH_MPI=ON; see docs/building.md)");
}
#endif

}  // namespace mlpbench
