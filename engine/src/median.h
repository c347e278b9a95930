#pragma once
// The median: the summary's epoch times (run_log.cc) and the ranks' phase times
// (trainer_distributed.cc) use this one definition.
#include <cstddef>
#include <vector>

namespace mlpbench {

// `sorted` ascending and not empty: its middle value, or the mean of the two middle ones.
inline double median_of_sorted(const std::vector<double>& sorted) {
  const size_t n = sorted.size();
  return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

}  // namespace mlpbench
