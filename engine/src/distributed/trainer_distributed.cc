// A Trainer as one rank of a data-parallel job: the steps of an epoch with this rank's shards,
// the agreed running sums and stops, and the gradient reduction (reduction.h or MPI_Allreduce).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "mlpbench/comm.h"
#include "mlpbench/distributed.h"
#include "mlpbench/kernels.h"
#include "mlpbench/reduction.h"
#include "mlpbench/trainer.h"
#include "median.h"

namespace mlpbench {
namespace {

using Clock = std::chrono::steady_clock;

double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

PhaseStats phase_stats(std::vector<double> v) {
  PhaseStats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median_us = median_of_sorted(v);
  s.p90_us = v[std::min(n - 1, static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n))) - 1)];
  return s;
}

bool power_of_two(int n) { return n > 0 && (n & (n - 1)) == 0; }

}  // namespace

const char* reduction_name(Reduction r) { return r == Reduction::kTree ? "tree" : "mpi"; }

std::optional<Reduction> parse_reduction(const std::string& name) {
  if (name == "tree") return Reduction::kTree;
  if (name == "mpi") return Reduction::kMpi;
  return std::nullopt;
}

std::string check_rank_count(int ranks, int shards) {
  if (power_of_two(ranks) && shards % ranks == 0) return "";
  std::string allowed;
  for (int r = 1; r <= shards; r *= 2) allowed += (allowed.empty() ? "" : ", ") + std::to_string(r);
  return std::to_string(ranks) + " ranks cannot share " + std::to_string(shards) +
         " shards: the rank count must be a power of two that divides the shards (allowed: " +
         allowed + "; raise --shards for more ranks)";
}

void Trainer::distribute(Comm* comm, Reduction reduction) {
  const std::string why = check_rank_count(comm->size(), experiment_.shards);
  if (!why.empty()) throw std::invalid_argument(why);
  comm_ = comm;
  reduction_kind_ = reduction;
  reduction_ = std::make_unique<TreeReduction>(model_, comm->size(), comm->rank());
}

void Trainer::gather_optimizer_state() {
  if (!comm_ || reduction_kind_ != Reduction::kTree) return;  // MPI_Allreduce: every rank updates all
  run_team(1, [&](Team& team) {
    for (auto& [name, buffer] : optimizer_.state()) reduction_->allgather(buffer->data(), *comm_, team);
  });
}

StopReason Trainer::distributed_steps(int epoch, const TrainCallbacks& callbacks) {
  Comm& comm = *comm_;
  const int ranks = comm.size(), rank = comm.rank();
  const size_t batch = static_cast<size_t>(experiment_.batch_size);
  const size_t shards = static_cast<size_t>(experiment_.shards);
  const size_t per_rank = shards / static_cast<size_t>(ranks);
  const size_t first_shard = per_rank * static_cast<size_t>(rank);
  const size_t steps = steps_per_epoch();
  auto rows_of = [&](size_t step) { return std::min(batch, train_.size() - step * batch); };

  // The per-step exchange: every rank's pending signal, then its rows' losses and whether each
  // was predicted right, in slots of the most rows a rank can have.
  const std::vector<size_t>& full = shard_bounds_full_;
  size_t slot_rows = 0;
  for (int q = 0; q < ranks; ++q) {
    slot_rows = std::max(slot_rows, full[(q + 1) * per_rank] - full[q * per_rank]);
  }
  const size_t slot = 1 + 2 * slot_rows;
  std::vector<float> mine(slot), all(slot * static_cast<size_t>(ranks));

  std::vector<double> t_compute, t_reduce, t_optimizer, t_allgather, t_wait;
  uint64_t bytes_sent = 0;
  StopReason stop = StopReason::kCompleted;
  const size_t first_step = state_.step;
  const uint64_t first_update = state_.updates;
  float* params = model_.params().data();
  float* grads = train_ws_.grads.data();
  const Range owned = reduction_kind_ == Reduction::kTree ? reduction_->owned()
                                                          : Range{0, model_.params().size()};

  run_team(threads_, [&](Team& team) {
    for (size_t step = first_step; step < steps; ++step) {
      const uint64_t update = first_update + (step - first_step) + 1;
      const size_t rows = rows_of(step);
      const std::vector<size_t>& bounds = rows == batch ? shard_bounds_full_ : shard_bounds_last_;
      const size_t row0 = bounds[first_shard], local = bounds[first_shard + per_rank] - row0;
      const Batch b = train_ws_.batch(0);
      if (team.leader() && (step == first_step || rows != batch)) {  // this rank's shards' rows
        train_ws_.shard_bounds.resize(per_rank + 1);
        for (size_t j = 0; j <= per_rank; ++j) train_ws_.shard_bounds[j] = bounds[first_shard + j] - row0;
      }
      gather_batch(b, train_, state_.order.data() + step * batch + row0, local, team.part());
      team.sync();

      const auto c0 = Clock::now();
      forward_layers(model_, train_ws_, b.input, local, {0, model_.layers().size()}, team);
      loss_and_delta(model_, train_ws_, b.labels, local, rows, team);
      const auto c1 = Clock::now();
      if (team.leader()) {  // agree on the running sums and on stopping
        std::fill(mine.begin(), mine.end(), 0.0f);
        mine[0] = static_cast<float>(stop_signal ? stop_signal() : 0);
        for (size_t i = 0; i < local; ++i) {
          mine[1 + i] = train_ws_.losses[i];
          mine[1 + slot_rows + i] = train_ws_.predicted[i] == b.labels[i] ? 1.0f : 0.0f;
        }
        comm.allgather(mine.data(), slot * sizeof(float), all.data());
        double batch_loss = 0;  // over the batch's rows in order, as one process sums them
        uint64_t correct = 0;
        int signal = 0;
        for (int q = 0; q < ranks; ++q) {
          const float* s = all.data() + slot * static_cast<size_t>(q);
          const size_t n = bounds[(q + 1) * per_rank] - bounds[q * per_rank];
          for (size_t i = 0; i < n; ++i) {
            batch_loss += s[1 + i];
            correct += s[1 + slot_rows + i] != 0.0f;
          }
          signal = std::max(signal, static_cast<int>(s[0]));
        }
        stop = count_step(epoch, step, rows, batch_loss, correct, signal != 0);
        if (stop == StopReason::kInterrupted) agreed_signal_ = signal;
      }
      const auto c2 = Clock::now();
      transpose_weights(model_, train_ws_, team);
      backward(model_, train_ws_, b.input, local, team);
      const auto c3 = Clock::now();

      if (reduction_kind_ == Reduction::kTree) {
        const size_t sent = reduction_->reduce_scatter(grads, comm, team);
        if (team.leader()) bytes_sent += sent;
      } else {
        if (team.leader()) {
          comm.allreduce_sum(grads, model_.params().size());
          bytes_sent += model_.params().size() * sizeof(float);  // the payload; the library's traffic is its own
        }
        team.sync();
      }
      const auto c4 = Clock::now();
      for (const DenseLayer& layer : model_.layers()) {  // the optimizer on this rank's slice
        for (Range t : {Range{layer.weights_offset, layer.weights_offset + layer.in * layer.out},
                        Range{layer.bias_offset, layer.bias_offset + layer.out}}) {
          const size_t lo = std::max(t.begin, owned.begin), hi = std::min(t.end, owned.end);
          if (lo < hi) optimizer_.step(params, grads, lo, hi - lo, update, team.part());
        }
      }
      team.sync();
      const auto c5 = Clock::now();
      if (reduction_kind_ == Reduction::kTree) {
        const size_t sent = reduction_->allgather(params, comm, team);
        if (team.leader()) bytes_sent += sent;
      }
      const auto c6 = Clock::now();

      if (team.leader()) {
        t_compute.push_back(us_between(c0, c1) + us_between(c2, c3));
        t_wait.push_back(us_between(c1, c2));
        t_reduce.push_back(us_between(c3, c4));
        t_optimizer.push_back(us_between(c4, c5));
        t_allgather.push_back(us_between(c5, c6));
        end_step(epoch, step, steps, update, callbacks);
      }
      team.sync();  // publishes `stop` and the leader's bookkeeping
      if (stop != StopReason::kCompleted) break;
    }
  });

  // Every rank's phase times, gathered to every rank in rank order.
  RankEpochStats own;
  own.compute = phase_stats(t_compute);
  own.reduction = phase_stats(t_reduce);
  own.optimizer = phase_stats(t_optimizer);
  own.allgather = phase_stats(t_allgather);
  own.wait = phase_stats(t_wait);
  own.bytes_sent = bytes_sent;
  rank_stats_.assign(static_cast<size_t>(ranks), RankEpochStats{});
  comm.allgather(&own, sizeof own, rank_stats_.data());
  return stop;
}

}  // namespace mlpbench
