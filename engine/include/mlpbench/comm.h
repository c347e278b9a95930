#pragma once
// The few collective operations data-parallel training needs, over MPI (comm_mpi.cc) when the
// build has it. Every call is made by one thread per process (the team's leader; MPI is
// initialised with MPI_THREAD_FUNNELED from the main thread, which leads every team).
#include <cstddef>
#include <memory>
#include <string>

namespace mlpbench {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Sends `send_bytes` to `partner` while receiving `recv_bytes` from it.
  virtual void sendrecv(const void* send, size_t send_bytes, void* recv, size_t recv_bytes,
                        int partner) = 0;
  // recv = every rank's `bytes` of `send`, in rank order.
  virtual void allgather(const void* send, size_t bytes, void* recv) = 0;
  // data = the sum over ranks (MPI_Allreduce, MPI_SUM: the library's own order and algorithm).
  virtual void allreduce_sum(float* data, size_t n) = 0;
  virtual void barrier() = 0;
  // Ends every process of the job with `code` (for errors on some ranks only: never a hang).
  [[noreturn]] virtual void abort(int code) = 0;
  virtual std::string library_version() const = 0;
  virtual std::string processor_name() const = 0;
};

// True if this build can run --distributed.
bool have_mpi();
// True if an MPI launcher (mpirun, mpiexec, srun with PMI) started this process.
bool launched_by_mpi();
// Initialises MPI (once per process) and returns the world. Throws ConfigError if the build has
// no MPI or no launcher started the process. MPI is finalised when the returned object dies.
std::unique_ptr<Comm> init_mpi();

}  // namespace mlpbench
