#pragma once
// What a Keras user sees while training: a model summary, a progress bar per epoch on a
// terminal, plain per-epoch lines otherwise.
#include <chrono>
#include <cstdio>
#include <string>

#include "mlpbench/model.h"
#include "mlpbench/trainer.h"

namespace mlpbench {

// Keras-style table: layers, output shapes, parameter counts, total.
std::string model_summary(const std::string& name, const Mlp& model);

class Progress {
 public:
  // `quiet`: nothing at all. Otherwise a live bar if `out` is a terminal, else one line per epoch.
  Progress(std::FILE* out, bool quiet, int epochs);
  void on_step(int epoch, size_t step, size_t steps, double loss, double accuracy);
  void on_epoch_end(const EpochResult& r);

 private:
  std::FILE* out_;
  bool quiet_, tty_;
  int epochs_;
  int current_epoch_ = 0;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
};

std::string format_duration(double seconds);

}  // namespace mlpbench
