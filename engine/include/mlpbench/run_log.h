#pragma once
// The run log ("schema": "mlpbench.run/1"), rewritten atomically after every epoch.
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlpbench/host_load.h"
#include "mlpbench/trainer.h"

namespace mlpbench {

inline constexpr const char* kRunLogSchema = "mlpbench.run/1";

// Writes `content` to `path` so that readers see the old file or the new one, never a part:
// a temporary file in the same folder, flushed to disk, then renamed over `path` (never over a
// special file). Creates missing parent folders. Throws std::runtime_error naming the path.
// write_output() (output_paths.h) with WriteMode::kReplace.
void write_file_atomically(const std::string& path, const std::string& content);

nlohmann::json epoch_json(const EpochResult& r);
// `experiment` (the resolved experiment's JSON) says whether best_* look at validation and
// what target time_to_target_seconds measures.
nlohmann::json summary_json(const std::vector<EpochResult>& epochs, double wall_seconds,
                            const nlohmann::json& experiment = nlohmann::json::object());
// The test set's confusion matrix and per-class precision, recall and accuracy.
nlohmann::json evaluation_json(const Evaluation& e);
// Why the host may have slowed a run (empty when it looked quiet): the team barrier far above its
// quiet value, other processes' CPU time or the hypervisor's steal during the run (`load`;
// `expected_other_cpus` is what the run's own other ranks on this node use), more threads than
// logical CPUs.
std::vector<std::string> host_noise_reasons(const std::vector<EpochResult>& epochs, int threads,
                                            const std::optional<HostLoadShare>& load = std::nullopt,
                                            double expected_other_cpus = 0);

// The log is rewritten whole (atomically) at the start, at most once per kRewriteInterval while
// running, and at the end: its I/O grows with epochs x (wall seconds), not epochs squared, and
// a SIGKILL loses at most the last interval's epochs (docs/run-log.md).
class RunLog {
 public:
  static constexpr std::chrono::milliseconds kRewriteInterval{1000};

  // `run` holds threads, simd_target, seed, started_utc, train_samples, test_samples.
  // `create`: the first write creates the file exclusively (OutputExists if the path is taken).
  RunLog(std::string path, const nlohmann::json& experiment, const nlohmann::json& run,
         bool create = false);
  const std::string& path() const { return path_; }
  nlohmann::json& json() { return log_; }

  // Records the epochs so far, the status and the summary, and rewrites the file.
  void write(const std::string& status, const std::vector<EpochResult>& epochs,
             double wall_seconds);
  // Records what the callbacks did ("callback_events"; only when the experiment has callbacks)
  // and the final test evaluation ("evaluation"); written by the next write().
  void set_events(const std::vector<CallbackEvent>& events);
  void set_evaluation(const Evaluation& e);
  // write("running", ...) if the last write is kRewriteInterval old; true if it wrote.
  bool write_running(const std::vector<EpochResult>& epochs, double wall_seconds);

 private:
  std::string path_;
  bool create_;
  nlohmann::json log_;
  std::chrono::steady_clock::time_point last_write_{};
  HostLoadSample load_at_start_ = sample_host_load();
};

// "2026-11-23T13:45:00Z" and "20261123T134500Z" for now.
std::string utc_timestamp();
std::string utc_stamp_compact();

}  // namespace mlpbench
