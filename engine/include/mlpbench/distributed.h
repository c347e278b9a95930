#pragma once
// Data-parallel training across processes: what a Trainer needs to run as one rank of R
// (Trainer::distribute), and what each rank measures per epoch. docs/scaling.md has the design.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlpbench {

class Comm;

// How ranks combine their gradients: the fixed tree (reduction.h; numbers independent of R)
// or the MPI library's MPI_Allreduce (a baseline: ranks agree, numbers may depend on R).
enum class Reduction { kTree, kMpi };
const char* reduction_name(Reduction r);
// "tree" or "mpi"; nullopt otherwise.
std::optional<Reduction> parse_reduction(const std::string& name);

// The median and 90th percentile over an epoch's steps of one phase, in microseconds.
struct PhaseStats {
  double median_us = 0, p90_us = 0;
};

// One rank's epoch: per-step compute (forward, loss, backward), reduction (reduce-scatter, or
// MPI_Allreduce), optimizer, allgather, and wait (the per-step exchange of losses and stop
// flags, which waits for the slowest rank); bytes it sent in the reduction and allgather.
struct RankEpochStats {
  PhaseStats compute, reduction, optimizer, allgather, wait;
  uint64_t bytes_sent = 0;
};

// Which ranks R may share S shards: powers of two dividing S. Empty if allowed, else why not.
std::string check_rank_count(int ranks, int shards);

}  // namespace mlpbench
