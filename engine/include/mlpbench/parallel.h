#pragma once
// The one way the engine runs in parallel: a team of OpenMP threads that stays alive across
// all steps of an epoch, each thread computing its Part of every kernel, separated by barriers.
#include <functional>

#include "mlpbench/kernels.h"

namespace mlpbench {

class Team {
 public:
  explicit Team(kernels::Part part) : part_(part) {}
  kernels::Part part() const { return part_; }
  bool leader() const { return part_.index == 0; }
  // Every thread waits here until all have arrived; memory is synchronised.
  void sync() const;

 private:
  kernels::Part part_;
};

// Runs `body` on `threads` threads (1 without OpenMP), each with its own Team.
void run_team(int threads, const std::function<void(Team&)>& body);

// Logical CPUs available to this process, and whether the build has OpenMP.
int available_cpus();
bool have_openmp();

}  // namespace mlpbench
