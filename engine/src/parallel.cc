#include "mlpbench/parallel.h"

#include <thread>

#ifdef MLPBENCH_HAVE_OPENMP
#include <omp.h>
#endif

namespace mlpbench {

void Team::sync() const {
#ifdef MLPBENCH_HAVE_OPENMP
  if (part_.count > 1) {
#pragma omp barrier
  }
#endif
}

void run_team(int threads, const std::function<void(Team&)>& body) {
#ifdef MLPBENCH_HAVE_OPENMP
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    {
      Team team({omp_get_thread_num(), omp_get_num_threads()});
      body(team);
    }
    return;
  }
#endif
  (void)threads;
  Team team({0, 1});
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
