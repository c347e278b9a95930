#include "mlpbench/parallel.h"

#include <thread>

#include "mlpbench/float_mode.h"

#ifdef MLPBENCH_HAVE_OPENMP
#include <omp.h>
#endif

namespace mlpbench {

void Barrier::wait() {
  const unsigned generation = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == threads_ - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    return;
  }
  // About 20 us of polling (a pause is tens of cycles), then sleep until the last arrives.
  for (int spin = 0; spin < spins_; ++spin) {
    if (generation_.load(std::memory_order_acquire) != generation) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  while (generation_.load(std::memory_order_acquire) == generation) {
    generation_.wait(generation, std::memory_order_acquire);
  }
}

void run_team(int threads, const std::function<void(Team&)>& body) {
#ifdef MLPBENCH_HAVE_OPENMP
  if (threads > 1) {
    Barrier barrier(threads);
#pragma omp parallel num_threads(threads)
    {
      // The team size is what OpenMP granted (it may give fewer threads than asked).
#pragma omp single
      {
        barrier.set_threads(omp_get_num_threads());
        // More threads than CPUs: a spinning waiter only delays the threads it waits for.
        if (omp_get_num_threads() > omp_get_num_procs()) barrier.set_spins(0);
      }
      const FlushDenormals flush;
      Team team({omp_get_thread_num(), omp_get_num_threads()}, &barrier);
      body(team);
    }
    return;
  }
#endif
  (void)threads;
  const FlushDenormals flush;
  Team team({0, 1}, nullptr);
  body(team);
}

int available_cpus() {
#ifdef MLPBENCH_HAVE_OPENMP
  return omp_get_num_procs();
#else
  const unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
#endif
}

bool have_openmp() {
#ifdef MLPBENCH_HAVE_OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace mlpbench
