#pragma once
// The run log ("schema": "mlpbench.run/1"), kept current while the run goes on.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlpbench/host_load.h"
#include "mlpbench/trainer.h"

namespace mlpbench {

inline constexpr const char* kRunLogSchema = "mlpbench.run/1";

nlohmann::json epoch_json(const EpochResult& r);
// `experiment` (the resolved experiment's JSON) says whether best_* look at validation and
// what target time_to_target_seconds measures; `events` (the log's callback_events) whether
// restore_best_weights brought back an earlier epoch's weights, which final_* then describe.
nlohmann::json summary_json(const std::vector<EpochResult>& epochs, double wall_seconds,
                            const nlohmann::json& experiment = nlohmann::json::object(),
                            const nlohmann::json& events = nlohmann::json::array());
// The test set's confusion matrix and per-class precision, recall and accuracy.
nlohmann::json evaluation_json(const Evaluation& e);
// Why the host may have slowed a run (empty when it looked quiet): the team barrier far above its
// quiet value, other processes' CPU time or the hypervisor's steal during the run (`load`;
// `expected_other_cpus` is what the run's own other ranks on this node use), more threads than
// logical CPUs.
std::vector<std::string> host_noise_reasons(const std::vector<EpochResult>& epochs, int threads,
                                            const std::optional<HostLoadShare>& load = std::nullopt,
                                            double expected_other_cpus = 0);

// Who writes a log, so that a reader can tell a live run from a dead one: the process is alive
// when it runs on the same host and boot with the same pid and the same start time (a reused
// pid starts later).
struct WriterIdentity {
  std::string hostname;
  int64_t pid = 0;
  std::string boot_id;                 // /proc/sys/kernel/random/boot_id
  std::optional<uint64_t> start_ticks; // field 22 of /proc/<pid>/stat (clock ticks since boot)
};
WriterIdentity this_process();
std::optional<uint64_t> process_start_ticks(int64_t pid);

// Every version of the log is written whole to a temporary file beside it and renamed over it:
// a reader that opens the path at any moment reads one complete version, and a process killed at
// any moment (SIGKILL) leaves the last one. While running, it is rewritten after an epoch only
// when the last write is old enough that writing keeps under kMaxWriteShare of the wall time
// (and never more often than kMinRewriteInterval); checkpoints and the end always write.
class RunLog {
 public:
  static constexpr std::chrono::milliseconds kMinRewriteInterval{1000};
  static constexpr double kMaxWriteShare = 0.02;
  // The wait before the next running write after one that took `last_cost`.
  static std::chrono::steady_clock::duration rewrite_interval(std::chrono::steady_clock::duration last_cost);

  // `run` holds threads, simd_target, seed, started_utc, train_samples, test_samples.
  // `create`: the first write creates the file exclusively (OutputExists if the path is taken).
  RunLog(std::string path, const nlohmann::json& experiment, const nlohmann::json& run,
         bool create = false);
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  const std::string& path() const { return path_; }
  // The document as last written or set ("epochs" is filled by write()).
  const nlohmann::json& json() const { return log_; }

  // What others contribute, written by the next write():
  // the error that ended the run ("error"; empty: none),
  void set_error(const std::string& message);
  // the threads OpenMP granted ("run.threads"),
  void set_granted_threads(int threads);
  // the `distributed` object (docs/run-log.md) and one epoch's per-rank statistics in it,
  void set_distributed(const nlohmann::json& distributed);
  void add_rank_stats(const nlohmann::json& epoch_stats);
  // the build that made the numbers (a peer's, replacing this engine's),
  void set_build(const nlohmann::json& build);
  // where the team's threads ran ("run.placement", placement.h).
  void set_placement(const nlohmann::json& placement);

  // Records the epochs so far, the status and the summary, and writes the file. Throws if the
  // file this run wrote last was replaced or removed by another process since.
  void write(const std::string& status, const std::vector<EpochResult>& epochs,
             double wall_seconds);
  // Records what the callbacks did ("callback_events"; only when the experiment has callbacks)
  // and the final test evaluation ("evaluation"); written by the next write().
  void set_events(const std::vector<CallbackEvent>& events);
  void set_evaluation(const Evaluation& e);
  // write("running", ...) if rewrite_interval() has passed since the last write; true if it wrote.
  bool write_running(const std::vector<EpochResult>& epochs, double wall_seconds);
  // Bytes written to the log file so far by this object.
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  std::string text(const std::vector<EpochResult>& epochs) const;

  std::string path_;
  bool create_;
  nlohmann::json log_;
  std::chrono::steady_clock::time_point last_write_{};
  std::chrono::steady_clock::duration last_cost_{};
  HostLoadSample load_at_start_ = sample_host_load();
  std::optional<std::pair<dev_t, ino_t>> written_;  // the file this object wrote last
  uint64_t bytes_written_ = 0;
};

// "2026-11-23T13:45:00Z" and "20261123T134500Z" for now.
std::string utc_timestamp();
std::string utc_stamp_compact();

}  // namespace mlpbench
