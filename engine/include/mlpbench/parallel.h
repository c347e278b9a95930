#pragma once
// The one way the engine runs in parallel: a team of OpenMP threads that stays alive across
// all steps of an epoch, each thread computing its Part of every kernel, separated by barriers.
#include <atomic>
#include <functional>

#include "mlpbench/kernels.h"

namespace mlpbench {

// A barrier that spins briefly, then sleeps (futex). A training step has three barriers (step.h);
// spinning keeps each well under a microsecond on an idle machine, and sleeping after ~20 us
// hands the core to whoever else needs it: on a shared machine a spin-only barrier (OpenMP's
// default policy) makes every barrier wait out a scheduler time slice, 100x slower.
class Barrier {
 public:
  explicit Barrier(int threads) : threads_(threads) {}
  void set_threads(int threads) { threads_ = threads; }  // only while no thread waits
  void set_spins(int spins) { spins_ = spins; }          // 0: sleep at once (oversubscribed)
  void wait();

 private:
  int threads_;
  int spins_ = 4000;
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<unsigned> generation_{0};
};

class Team {
 public:
  explicit Team(kernels::Part part, Barrier* barrier = nullptr) : part_(part), barrier_(barrier) {}
  kernels::Part part() const { return part_; }
  bool leader() const { return part_.index == 0; }
  // Every thread waits here until all have arrived; memory is synchronised.
  void sync() const {
    if (part_.count > 1) barrier_->wait();
  }

 private:
  kernels::Part part_;
  Barrier* barrier_;
};

// Runs `body` on `threads` threads (1 without OpenMP), each with its own Team and with
// denormals flushed to zero (float_mode.h) for the duration of the call.
void run_team(int threads, const std::function<void(Team&)>& body);

// Logical CPUs available to this process, and whether the build has OpenMP.
int available_cpus();
bool have_openmp();

}  // namespace mlpbench
