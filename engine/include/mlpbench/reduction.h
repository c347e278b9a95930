#pragma once
// The gradient reduction of data-parallel training across R processes (R a power of two),
// with a fixed orientation so that every element is summed by the same pairwise tree as the
// shards of one process (model.h, shard_bounds):
//  - reduce-scatter by recursive halving, nearest partner first: at level d = 1, 2, 4, ... rank
//    r and r ^ d each keep one half of their current range (the lower rank the lower half) and
//    add the partner's copy of it, the lower rank's partial sum always the left operand;
//  - the optimizer updates the range a rank is left with (its slice);
//  - allgather of the updated parameters by recursive doubling, the levels in reverse.
// Ranges are cut only at weight-panel and tensor boundaries (kernels::kPanelCols), so a slice
// is whole panels and whole biases.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mlpbench/comm.h"
#include "mlpbench/model.h"
#include "mlpbench/parallel.h"

namespace mlpbench {

struct Range {
  size_t begin = 0, end = 0;
  size_t size() const { return end - begin; }
};

class TreeReduction {
 public:
  TreeReduction(const Mlp& model, int ranks, int rank);

  // This rank's slice of the parameter buffer after reduce_scatter.
  Range owned() const { return kept_.empty() ? whole_ : kept_.back(); }

  // Called by every thread of the team (the leader communicates, the team adds). `data` is
  // the flat parameter-sized buffer of this rank's partial sums; on return owned() holds the
  // sums over all ranks. Returns the bytes this rank sent.
  size_t reduce_scatter(float* data, Comm& comm, const Team& team);
  // Called by every thread: data's owned() range, on every rank, to every rank. Returns the
  // bytes this rank sent.
  size_t allgather(float* data, Comm& comm, const Team& team);

 private:
  int ranks_, rank_;
  Range whole_;
  std::vector<size_t> cuts_;  // allowed cut points, ascending, first 0 and last whole_.end
  std::vector<Range> kept_;   // after each level d = 1, 2, ...: the range this rank keeps
  std::vector<Range> given_;  // ... and the partner's
  FloatBuffer recv_;
};

}  // namespace mlpbench
