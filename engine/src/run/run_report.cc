#include "run_report.h"

#include <cstdio>

#include "mlpbench/kernels.h"

namespace mlpbench {

void print_run_start(const RunStart& s) {
  const Experiment& e = s.experiment;
  const int granted = s.threads_granted;
  if (s.model_summary) {
    std::fprintf(stderr, "%s", model_summary(e.name, s.inputs, e.model).c_str());
  }
  if (s.comm) {
    std::fprintf(stderr, "Distributed: %d ranks, %d shards, reduction %s\n", s.comm->size(), e.shards,
                 reduction_name(s.reduction));
  }
  std::fprintf(stderr, "Training on %zu samples, testing on %zu (%s), %d thread%s, SIMD %s, batch %d\n",
               s.train.size(), s.test.size(), e.dataset.c_str(), granted, granted == 1 ? "" : "s",
               kernels::active_target().c_str(), e.batch_size);
  if (s.validation) {
    std::fprintf(stderr, "Validating on the last %zu training samples (validation_split %g)\n",
                 s.validation->size(), e.validation_split);
  }
  if (granted < s.threads_requested) {
    std::fprintf(stderr, "note: %d threads were asked for, OpenMP granted %d (OMP_THREAD_LIMIT, "
                 "OMP_DYNAMIC?)\n", s.threads_requested, granted);
  }
  if (s.resumed_from) {
    std::fprintf(stderr, "Resuming from %s at epoch %d, step %zu\n", s.resumed_from->c_str(),
                 s.epoch, s.step);
  }
}

void print_completed(const Experiment& e, double final_accuracy, bool reference_applies,
                     const nlohmann::json& log) {
  std::fprintf(stderr, "Final test accuracy %.2f%%", 100 * final_accuracy);
  if (e.reference && reference_applies) {
    std::fprintf(stderr, " (reference %.2f%%: %s)", 100 * e.reference->test_accuracy, e.reference->source.c_str());
  }
  std::fprintf(stderr, "\n");
  const std::string target = target_report(log.at("summary"));
  if (!target.empty()) std::fprintf(stderr, "%s\n", target.c_str());
}

void print_host_noise(const nlohmann::json& log) {
  const nlohmann::json& run = log.at("run");
  if (!run.value("host_noisy", false)) return;
  std::string why;
  for (const auto& r : run.at("host_noise_reasons")) why += (why.empty() ? "" : "; ") + r.get<std::string>();
  std::fprintf(stderr, "warning: the host was noisy during this run (%s): its timings may be "
               "the host's, not the engine's (run.host_noisy in the log)\n", why.c_str());
}

void print_diverged(const Experiment& e, int epoch, size_t step, const std::string& log_path) {
  std::fprintf(stderr,
               "\n%s: training diverged at epoch %d, step %zu: the loss or the weights are "
               "NaN or infinite (is the learning rate %g too high?)\nlog: %s\n",
               e.name.c_str(), epoch, step, e.optimizer.learning_rate, log_path.c_str());
}

void print_interrupted(const char* signal, int epoch, size_t step, const std::string& checkpoint_path,
                       const std::string& checkpoint_error, const std::string& log_path) {
  std::fprintf(stderr, "\ninterrupted by %s at epoch %d, step %zu\n", signal, epoch, step);
  if (checkpoint_error.empty()) {
    std::fprintf(stderr, "checkpoint: %s\nlog: %s\ncontinue with: run_experiment --resume %s\n",
                 checkpoint_path.c_str(), log_path.c_str(), checkpoint_path.c_str());
  } else {
    std::fprintf(stderr, "checkpoint NOT written (the run cannot be resumed): %s\nlog: %s\n",
                 checkpoint_error.c_str(), log_path.c_str());
  }
}

void print_sweep_end(const std::vector<SweepRow>& rows, const std::string& folder, bool batch_sweep) {
  std::fprintf(stderr, "\nSweep of %zu runs in %s\n%splot it with: tools/%s %s\n", rows.size(), folder.c_str(),
               sweep_table(rows).c_str(), batch_sweep ? "plot_batch.py" : "plot_scaling.py", folder.c_str());
}

}  // namespace mlpbench
