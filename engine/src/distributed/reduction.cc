#include "mlpbench/reduction.h"

#include <algorithm>
#include <stdexcept>

#include "mlpbench/kernels.h"

namespace mlpbench {
namespace {

// The cut point of `cuts` within (r.begin, r.end) nearest the middle of r (r.begin if none).
size_t middle_cut(const std::vector<size_t>& cuts, Range r) {
  const size_t half = r.begin + r.size() / 2;
  size_t best = r.begin, best_distance = r.size();
  for (auto it = std::upper_bound(cuts.begin(), cuts.end(), r.begin); it != cuts.end() && *it < r.end; ++it) {
    const size_t distance = *it > half ? *it - half : half - *it;
    if (distance < best_distance) best = *it, best_distance = distance;
    if (*it > half) break;
  }
  return best;
}

}  // namespace

TreeReduction::TreeReduction(const Mlp& model, int ranks, int rank)
    : ranks_(ranks), rank_(rank), whole_{0, model.params().size()} {
  if (ranks < 1 || (ranks & (ranks - 1)) != 0) throw std::invalid_argument("ranks must be a power of two");
  for (const DenseLayer& l : model.layers()) {
    for (size_t j0 = 0; j0 < l.out; j0 += kernels::kPanelCols) cuts_.push_back(l.weights_offset + j0 * l.in);
    cuts_.push_back(l.bias_offset);
  }
  cuts_.push_back(whole_.end);
  std::sort(cuts_.begin(), cuts_.end());
  cuts_.erase(std::unique(cuts_.begin(), cuts_.end()), cuts_.end());

  Range r = whole_;
  for (int d = 1; d < ranks; d *= 2) {
    const size_t mid = middle_cut(cuts_, r);
    const Range lower{r.begin, mid}, upper{mid, r.end};
    const bool low = (rank & d) == 0;
    kept_.push_back(low ? lower : upper);
    given_.push_back(low ? upper : lower);
    r = kept_.back();
  }
  size_t largest = 0;  // what a level receives: the partner's copy of the kept range
  for (const Range& k : kept_) largest = std::max(largest, k.size());
  recv_.resize(largest);
}

size_t TreeReduction::reduce_scatter(float* data, Comm& comm, const Team& team) {
  size_t sent = 0;
  for (size_t level = 0; level < kept_.size(); ++level) {
    const int d = 1 << level;
    const int partner = rank_ ^ d;
    const Range keep = kept_[level], give = given_[level];
    if (team.leader()) {
      comm.sendrecv(data + give.begin, give.size() * sizeof(float), recv_.data(),
                    keep.size() * sizeof(float), partner);
    }
    sent += give.size() * sizeof(float);
    team.sync();
    // Lower rank's partial sum on the left: data + recv on the lower rank, recv + data on the
    // upper one (addition is commutative in IEEE arithmetic, but the tree is written as it is).
    const kernels::Part part = team.part();
    float* x = data + keep.begin;
    const float* y = recv_.data();
    const size_t b = part.begin(keep.size()), e = part.end(keep.size());
    if (rank_ < partner) {
      for (size_t i = b; i < e; ++i) x[i] = x[i] + y[i];
    } else {
      for (size_t i = b; i < e; ++i) x[i] = y[i] + x[i];
    }
    team.sync();
  }
  return sent;
}

size_t TreeReduction::allgather(float* data, Comm& comm, const Team& team) {
  size_t sent = 0;
  for (size_t level = kept_.size(); level-- > 0;) {
    const int partner = rank_ ^ (1 << level);
    const Range mine = kept_[level], theirs = given_[level];
    if (team.leader()) {
      comm.sendrecv(data + mine.begin, mine.size() * sizeof(float), data + theirs.begin,
                    theirs.size() * sizeof(float), partner);
    }
    sent += mine.size() * sizeof(float);
  }
  team.sync();
  return sent;
}

}  // namespace mlpbench
