#pragma once
// What a Keras user sees while training: a model summary, a progress bar per epoch on a
// terminal, plain per-epoch lines otherwise. Output errors (a closed pipe) silence it, never
// stop training.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlpbench/model.h"
#include "mlpbench/trainer.h"

namespace mlpbench {

// Keras-style table: layers, output shapes, parameter counts, total. From the layer specs
// alone, so a model can be described without being allocated (run_experiment --dry-run).
std::string model_summary(const std::string& name, size_t inputs,
                          const std::vector<LayerSpec>& layers);

class Progress {
 public:
  // `quiet`: nothing at all. Otherwise a live bar if `out` is a terminal, else one line per epoch.
  // `show_learning_rate`: the epoch line ends with the rate (a schedule or ReduceLROnPlateau).
  Progress(std::FILE* out, bool quiet, int epochs, bool show_learning_rate = false);
  void on_step(int epoch, size_t step, size_t steps, double loss, double accuracy);
  void on_epoch_end(const EpochResult& r);

  // A live bar needs a terminal that can redraw a line (TERM is not "dumb"); it is cut to the
  // terminal's width (TIOCGWINSZ, else $COLUMNS, else 80). No colours are ever used.
  static bool live_bar(std::FILE* out);
  static int terminal_width(std::FILE* out);

 private:
  void emit(const std::string& text);

  std::FILE* out_;
  bool quiet_, tty_, show_learning_rate_;
  bool dead_ = false;  // the output failed (closed pipe): no more attempts
  int epochs_;
  int current_epoch_ = 0;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
};

std::string format_duration(double seconds);

// Whether and when a run's summary (run_log.h) says the experiment's target_accuracy was
// reached: "Target 98.00% val_accuracy: reached at epoch 4, after 12.34 s of training (13.01 s
// with evaluation)" or "... not reached in 11 epochs"; "" without a target.
std::string target_report(const nlohmann::json& summary);

// One run of a sweep, for the table that ends it.
struct SweepRow {
  int threads = 1;
  std::string target;
  double median_epoch_seconds = 0;
  // Per-epoch losses and accuracies bitwise those of the first run of the same target and batch
  // size (threads and repeats never change the numbers).
  bool identical = true;
  // Which of the distinct sequences of numbers of its batch size the target computed (0, 1,
  // ...): targets with the same index compute alike.
  int numbers = 0;
  int batch_size = 0;  // a batch-size sweep's (0: not one); identity is then per batch size
  int round = 1;       // which repeat (--sweep-repeats)
};
// One line per configuration: configuration | runs | s/epoch (the median over its runs of each
// run's median epoch) | spread (fastest-slowest run) | speed-up (against the first) | identical
// numbers (yes/no, every run of it); then which targets computed alike.
std::string sweep_table(const std::vector<SweepRow>& rows);

}  // namespace mlpbench
