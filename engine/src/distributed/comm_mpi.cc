// Comm over MPI. Errors are fatal (MPI_ERRORS_ARE_FATAL, MPI's default, is kept on the world):
// a failing or vanished rank ends the whole job through the launcher instead of leaving the
// others blocked in a collective.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <stdexcept>

#include "mlpbench/comm.h"
#include "mlpbench/errors.h"

namespace mlpbench {
namespace {

// MPI counts are ints: large messages go in pieces of at most 1 GiB.
constexpr size_t kMaxChunk = size_t{1} << 30;

class MpiComm final : public Comm {
 public:
  MpiComm() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    if (provided < MPI_THREAD_FUNNELED) {
      MPI_Finalize();
      throw std::runtime_error("the MPI library does not support MPI_THREAD_FUNNELED");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiComm() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void sendrecv(const void* send, size_t send_bytes, void* recv, size_t recv_bytes,
                int partner) override {
    auto* s = static_cast<const char*>(send);
    auto* r = static_cast<char*>(recv);
    while (send_bytes > 0 || recv_bytes > 0) {
      const size_t sn = std::min(send_bytes, kMaxChunk), rn = std::min(recv_bytes, kMaxChunk);
      MPI_Sendrecv(s, static_cast<int>(sn), MPI_BYTE, partner, 0, r, static_cast<int>(rn), MPI_BYTE,
                   partner, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      s += sn, r += rn, send_bytes -= sn, recv_bytes -= rn;
    }
  }
  void allgather(const void* send, size_t bytes, void* recv) override {
    if (bytes > INT_MAX) throw std::runtime_error("allgather: message too large");
    MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes), MPI_BYTE,
                  MPI_COMM_WORLD);
  }
  void allreduce_sum(float* data, size_t n) override {
    for (size_t done = 0; done < n;) {
      const size_t count = std::min(n - done, kMaxChunk / sizeof(float));
      MPI_Allreduce(MPI_IN_PLACE, data + done, static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
      done += count;
    }
  }
  void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }
  std::string library_version() const override {
    char text[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(text, &len);
    std::string v(text, static_cast<size_t>(len));
    while (!v.empty() && (v.back() == '\n' || v.back() == '\0' || v.back() == ' ')) v.pop_back();
    return v;
  }
  std::string processor_name() const override {
    char text[MPI_MAX_PROCESSOR_NAME];
    int len = 0;
    MPI_Get_processor_name(text, &len);
    return std::string(text, static_cast<size_t>(len));
  }

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace

bool have_mpi() { return true; }

std::unique_ptr<Comm> init_mpi() {
  if (!launched_by_mpi()) {
    throw ConfigError("--distributed: no MPI launcher started this process; run it as "
                      "mpirun -n RANKS run_experiment ... --distributed (see docs/scaling.md)");
  }
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw std::runtime_error("MPI is initialised already");
  return std::make_unique<MpiComm>();
}

}  // namespace mlpbench
