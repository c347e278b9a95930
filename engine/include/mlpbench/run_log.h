#pragma once
// The run log ("schema": "mlpbench.run/1"), kept current while the run goes on.
#include <chrono>
#include <cstdint>
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

// The log file keeps the growing `epochs` array at a fixed place, after everything that never
// changes (schema, experiment, build, host), and everything that does (status, run, summary,
// ...) in a trailer after it. The first write creates the whole file (exclusively with
// `create`, else replacing it atomically); every later write is one pwrite(2) of the new
// epochs and the new trailer at the end of the epochs already in the file, padded with spaces
// if shorter than the old trailer, so total log I/O grows linearly with the epochs and a killed
// process leaves the last complete version. While running it is written at most once per
// kRewriteInterval: a SIGKILL loses at most the last interval's epochs (docs/run-log.md).
class RunLog {
 public:
  static constexpr std::chrono::milliseconds kRewriteInterval{1000};

  // `run` holds threads, simd_target, seed, started_utc, train_samples, test_samples.
  // `create`: the first write creates the file exclusively (OutputExists if the path is taken).
  RunLog(std::string path, const nlohmann::json& experiment, const nlohmann::json& run,
         bool create = false);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  const std::string& path() const { return path_; }
  // The document; "epochs" is filled by write(). A change to schema, experiment, build or host
  // after the first write makes the next write() rewrite the whole file.
  nlohmann::json& json() { return log_; }

  // Records the epochs so far (those already in the file must be a prefix of `epochs`), the
  // status and the summary, and updates the file.
  void write(const std::string& status, const std::vector<EpochResult>& epochs,
             double wall_seconds);
  // Records what the callbacks did ("callback_events"; only when the experiment has callbacks)
  // and the final test evaluation ("evaluation"); written by the next write().
  void set_events(const std::vector<CallbackEvent>& events);
  void set_evaluation(const Evaluation& e);
  // write("running", ...) if the last write is kRewriteInterval old; true if it wrote.
  bool write_running(const std::vector<EpochResult>& epochs, double wall_seconds);
  // Bytes written to the log file so far by this object (whole files and updates).
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  std::string head_text() const;  // up to and including `"epochs": [`
  std::string trailer_text(size_t epochs) const;  // from the epochs' closing `]` to the end
  void write_whole(const std::vector<EpochResult>& epochs);
  void update(const std::vector<EpochResult>& epochs);

  std::string path_;
  bool create_;
  nlohmann::json log_;
  std::chrono::steady_clock::time_point last_write_{};
  HostLoadSample load_at_start_ = sample_host_load();
  int fd_ = -1;               // the file written (-1: not yet)
  std::string head_;          // as in the file
  size_t epochs_in_file_ = 0;
  uint64_t epochs_end_ = 0;   // offset just past the last epoch in the file
  uint64_t file_size_ = 0;
  uint64_t bytes_written_ = 0;
};

// "2026-11-23T13:45:00Z" and "20261123T134500Z" for now.
std::string utc_timestamp();
std::string utc_stamp_compact();

}  // namespace mlpbench
