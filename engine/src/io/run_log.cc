#include "mlpbench/run_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "mlpbench/build_info.h"
#include "mlpbench/json_errors.h"
#include "mlpbench/output_paths.h"
#include "mlpbench/parallel.h"
#include "median.h"

namespace mlpbench {
namespace fs = std::filesystem;

nlohmann::json epoch_json(const EpochResult& r) {
  nlohmann::json j = {{"epoch", r.epoch},
          {"train_loss", r.train_loss},
          {"train_accuracy", r.train_accuracy},
          {"test_loss", r.test_loss},
          {"test_accuracy", r.test_accuracy},
          {"train_seconds", r.train_seconds},
          {"eval_seconds", r.eval_seconds},
          {"samples_per_second", r.samples_per_second},
          {"gflops", r.gflops},
          {"steps", r.steps},
          {"barrier_us", std::isfinite(r.barrier_us) ? nlohmann::json(r.barrier_us) : nlohmann::json()}};
  if (!std::isnan(r.val_loss)) {  // a diverged validation loss is logged too, as null
    j["val_loss"] = std::isfinite(r.val_loss) ? nlohmann::json(r.val_loss) : nlohmann::json();
    j["val_accuracy"] = r.val_accuracy;
  }
  if (std::isfinite(r.learning_rate)) {
    j["learning_rate"] = r.learning_rate;
    j["learning_rate_end"] = r.learning_rate_end;
  }
  if (!r.phases.empty()) {
    nlohmann::json threads = nlohmann::json::array();
    for (const StepPhaseSeconds& p : r.phases) {
      threads.push_back({{"layer0_forward_seconds", p.layer0_forward},
                         {"upper_layers_or_gather_seconds", p.upper_layers_or_gather},
                         {"barrier_wait_seconds", p.barrier_wait},
                         {"layer0_backward_update_seconds", p.layer0_backward_update}});
    }
    j["phases"] = {{"steps", r.phase_steps}, {"threads", threads}};
  }
  return j;
}

namespace {
// A ratio, or null when its denominator is 0 (a class never predicted has no precision).
nlohmann::json ratio(uint64_t num, uint64_t den) {
  return den ? nlohmann::json(static_cast<double>(num) / static_cast<double>(den)) : nlohmann::json();
}
}  // namespace

nlohmann::json evaluation_json(const Evaluation& e) {
  const size_t k = e.classes;
  nlohmann::json matrix = nlohmann::json::array();
  std::vector<uint64_t> row_sum(k, 0), col_sum(k, 0);
  uint64_t total = 0;
  for (size_t t = 0; t < k; ++t) {
    nlohmann::json row = nlohmann::json::array();
    for (size_t p = 0; p < k; ++p) {
      const uint64_t n = e.confusion[t * k + p];
      row.push_back(n);
      row_sum[t] += n;
      col_sum[p] += n;
      total += n;
    }
    matrix.push_back(row);
  }
  nlohmann::json per_class = nlohmann::json::array();
  for (size_t c = 0; c < k; ++c) {
    const uint64_t tp = e.confusion[c * k + c];
    const uint64_t fp = col_sum[c] - tp, fn = row_sum[c] - tp;
    per_class.push_back({{"class", c},
                         {"support", row_sum[c]},
                         {"precision", ratio(tp, col_sum[c])},
                         {"recall", ratio(tp, row_sum[c])},
                         {"accuracy", ratio(total - fp - fn, total)}});
  }
  return {{"split", "test"},
          {"samples", total},
          {"test_loss", e.loss},
          {"test_accuracy", e.accuracy},
          {"confusion_matrix", matrix},
          {"per_class", per_class}};
}

namespace {
// JSON has no NaN or infinities: a diverged loss is null.
nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

// The index of the epoch whose weights restore_best_weights brought back, or none.
std::optional<size_t> restored_index(const std::vector<EpochResult>& epochs, const nlohmann::json& events) {
  for (const auto& ev : events) {
    if (ev.value("action", "") != "restore_best_weights") continue;
    const int restored = ev.value("restored_epoch", 0);
    for (size_t i = 0; i < epochs.size(); ++i) {
      if (epochs[i].epoch == restored) return i;
    }
  }
  return std::nullopt;
}
}  // namespace

nlohmann::json summary_json(const std::vector<EpochResult>& epochs, double wall_seconds,
                            const nlohmann::json& experiment, const nlohmann::json& events) {
  nlohmann::json s = {{"wall_seconds", wall_seconds}};
  const bool validation = experiment.value("validation_split", 0.0) > 0;
  const bool target = experiment.contains("target_accuracy");
  if (target) {
    s["target_accuracy"] = experiment["target_accuracy"];
    s["target_metric"] = experiment["target_metric"];
    s["time_to_target_seconds"] = nullptr;
    s["eval_seconds_to_target"] = nullptr;
    s["epochs_to_target"] = nullptr;
  }
  if (epochs.empty()) return s;
  double best = 0, total = 0;
  std::vector<double> times;
  for (const auto& e : epochs) {
    best = std::max(best, e.test_accuracy);
    total += e.train_seconds;
    times.push_back(e.train_seconds);
  }
  std::sort(times.begin(), times.end());
  const size_t n = times.size();
  // final_*: the model the run ends with (what `evaluation` and --save-weights hold);
  // last_epoch_*: the last epoch's figures, which differ after restore_best_weights.
  const std::optional<size_t> restored = restored_index(epochs, events);
  const EpochResult& kept = epochs[restored.value_or(epochs.size() - 1)];
  const EpochResult& last = epochs.back();
  s["weights_epoch"] = kept.epoch;
  s["restored_epoch"] = restored ? nlohmann::json(kept.epoch) : nlohmann::json();
  s["final_test_accuracy"] = kept.test_accuracy;
  s["final_test_loss"] = finite_or_null(kept.test_loss);
  s["last_epoch"] = last.epoch;
  s["last_epoch_test_accuracy"] = last.test_accuracy;
  s["last_epoch_test_loss"] = finite_or_null(last.test_loss);
  if (validation) {
    // The model is chosen on validation, never on test: the epoch of the best val_accuracy
    // (the first of equals) and the test accuracy it had.
    size_t b = 0;
    for (size_t i = 1; i < epochs.size(); ++i) {
      if (epochs[i].val_accuracy > epochs[b].val_accuracy) b = i;
    }
    double best_loss = epochs[0].val_loss;
    for (const auto& e : epochs) best_loss = std::min(best_loss, e.val_loss);
    s["final_val_accuracy"] = kept.val_accuracy;
    s["final_val_loss"] = finite_or_null(kept.val_loss);
    s["last_epoch_val_accuracy"] = last.val_accuracy;
    s["last_epoch_val_loss"] = finite_or_null(last.val_loss);
    s["best_val_accuracy"] = epochs[b].val_accuracy;
    s["best_val_loss"] = std::isfinite(best_loss) ? nlohmann::json(best_loss) : nlohmann::json();
    s["best_epoch"] = epochs[b].epoch;
    s["test_accuracy_at_best_epoch"] = epochs[b].test_accuracy;
  } else {
    s["best_test_accuracy"] = best;
  }
  if (target) {
    const double goal = experiment["target_accuracy"].get<double>();
    const bool on_val = experiment["target_metric"] == "val_accuracy";
    double train = 0, eval = 0;
    for (const auto& e : epochs) {
      train += e.train_seconds;
      eval += e.eval_seconds;
      if ((on_val ? e.val_accuracy : e.test_accuracy) >= goal) {
        s["time_to_target_seconds"] = train;
        s["eval_seconds_to_target"] = eval;
        s["epochs_to_target"] = e.epoch;
        break;
      }
    }
  }
  s["total_train_seconds"] = total;
  s["mean_epoch_seconds"] = total / n;
  s["median_epoch_seconds"] = median_of_sorted(times);
  return s;
}

std::vector<std::string> host_noise_reasons(const std::vector<EpochResult>& epochs, int threads,
                                            const std::optional<HostLoadShare>& load,
                                            double expected_other_cpus) {
  // The barrier's quiet round trip is 0.03-0.08 us; 0.3 us is a VM's far placement of the
  // threads; above 1 us other processes took the cores (the same line as tools/track.py).
  constexpr double kNoisyBarrierUs = 1.0;
  // A tenth of the machine's CPU time used by others, or a twentieth taken by the hypervisor,
  // moves a step's time by more than the few per cent the regression gate looks for.
  constexpr double kNoisyOthers = 0.10;
  constexpr double kNoisySteal = 0.05;
  std::vector<std::string> reasons;
  char text[200];
  double worst = 0;
  for (const auto& e : epochs) {
    if (std::isfinite(e.barrier_us)) worst = std::max(worst, e.barrier_us);
  }
  if (worst > kNoisyBarrierUs) {
    std::snprintf(text, sizeof(text), "team barrier %.2f us in an epoch (quiet: below 1 us)", worst);
    reasons.push_back(text);
  }
  const int cpus = available_cpus();
  if (load) {
    const double expected = std::clamp(expected_other_cpus / load->cpus, 0.0, 1.0);
    if (load->others - expected > kNoisyOthers) {
      std::snprintf(text, sizeof(text),
                    "other processes used %.0f %% of the %d CPUs' time during the run%s",
                    100 * load->others, load->cpus,
                    expected > 0 ? " (beyond this run's other ranks on the node)" : "");
      reasons.push_back(text);
    }
    if (load->steal > kNoisySteal) {
      std::snprintf(text, sizeof(text), "the hypervisor took %.0f %% of the %d CPUs' time (steal)",
                    100 * load->steal, load->cpus);
      reasons.push_back(text);
    }
  }
  if (threads > cpus) {
    std::snprintf(text, sizeof(text), "%d threads on %d logical CPUs", threads, cpus);
    reasons.push_back(text);
  }
  return reasons;
}

namespace {
// The keys written before the growing epochs array, in the file's order; the rest follows it.
constexpr const char* kHeadKeys[] = {"schema", "experiment", "build", "host"};

// `j` pretty-printed as the value of a top-level key (its lines indented by two more spaces;
// JSON strings hold no raw newline, so every newline is the printer's). json_text replaces
// invalid UTF-8 (a path in an error message): never a reason to lose the log.
std::string member(const std::string& key, const nlohmann::json& j) {
  std::string text = "  " + json_text(key, -1) + ": ";
  for (const char c : json_text(j, 2)) {
    text += c;
    if (c == '\n') text += "  ";
  }
  return text;
}

}  // namespace

WriterIdentity this_process() {
  WriterIdentity w;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  w.hostname = host;
  w.pid = static_cast<int64_t>(::getpid());
  std::ifstream boot("/proc/sys/kernel/random/boot_id");
  std::getline(boot, w.boot_id);
  w.start_ticks = process_start_ticks(w.pid);
  return w;
}

std::optional<uint64_t> process_start_ticks(int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(in, text);
  // Field 22 (starttime); the command name (field 2) may hold spaces and parentheses.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return std::nullopt;
}

std::chrono::steady_clock::duration RunLog::rewrite_interval(std::chrono::steady_clock::duration last_cost) {
  const auto share = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      last_cost * (1 / kMaxWriteShare - 1));
  return std::max<std::chrono::steady_clock::duration>(kMinRewriteInterval, share);
}

RunLog::RunLog(std::string path, const nlohmann::json& experiment, const nlohmann::json& run,
               bool create)
    : path_(std::move(path)), create_(create) {
  log_ = {{"schema", kRunLogSchema},
          {"status", "running"},
          {"experiment", experiment},
          {"build", build_json()},
          {"host", host_json()},
          {"run", run},
          {"summary", nlohmann::json::object()}};
  const WriterIdentity w = this_process();
  log_["writer"] = {{"hostname", w.hostname},
                    {"pid", w.pid},
                    {"boot_id", w.boot_id},
                    {"start_ticks", w.start_ticks ? nlohmann::json(*w.start_ticks) : nlohmann::json()}};
}

std::string RunLog::text(const std::vector<EpochResult>& epochs) const {
  std::string text = "{\n";
  for (const char* key : kHeadKeys) {
    if (log_.contains(key)) text += member(key, log_[key]) + ",\n";
  }
  text += "  \"epochs\": [";
  for (size_t i = 0; i < epochs.size(); ++i) text += (i ? ",\n    " : "\n    ") + json_text(epoch_json(epochs[i]), -1);
  text += epochs.empty() ? "]" : "\n  ]";
  // The status first, for a reader of the file's end; then the rest in the document's order.
  text += ",\n" + member("status", log_["status"]);
  for (const auto& [key, value] : log_.items()) {
    if (key == "status" || std::find(std::begin(kHeadKeys), std::end(kHeadKeys), key) != std::end(kHeadKeys)) continue;
    text += ",\n" + member(key, value);
  }
  return text + "\n}\n";
}

void RunLog::write(const std::string& status, const std::vector<EpochResult>& epochs,
                   double wall_seconds) {
  const auto start = std::chrono::steady_clock::now();
  log_["status"] = status;
  log_["summary"] = summary_json(epochs, wall_seconds, log_["experiment"],
                                 log_.value("callback_events", nlohmann::json::array()));
  log_["writer"]["updated_utc"] = utc_timestamp();
  if (status != "running") {
    // Rank 0 shares its node with the run's other ranks there (ranks_per_node is the most on any).
    double other_ranks_cpus = 0;
    if (log_.contains("distributed")) {
      const auto& d = log_["distributed"];
      other_ranks_cpus = (d.value("ranks_per_node", 1) - 1) * d.value("threads_per_rank", 1);
    }
    const auto reasons =
        host_noise_reasons(epochs, log_["run"].value("threads", 1),
                           host_load_between(load_at_start_, sample_host_load()), other_ranks_cpus);
    log_["run"]["host_noisy"] = !reasons.empty();
    log_["run"]["host_noise_reasons"] = reasons;
  }
  // The file must still be the one this run wrote last: another process that replaced or removed
  // it (a second resume of the same checkpoint) owns that path now.
  if (written_) {
    struct stat st {};
    if (::lstat(path_.c_str(), &st) != 0 || st.st_dev != written_->first || st.st_ino != written_->second) {
      throw std::runtime_error(path_ + ": was replaced or removed by another process since this run last "
                               "wrote it; this run leaves it alone");
    }
  }
  const std::string content = text(epochs);
  // Every version is a new file renamed into place: a reader opening the path at any moment
  // reads one complete version, and a SIGKILL at any moment leaves one.
  const int fd = write_output_open(path_, content, create_ ? WriteMode::kCreate : WriteMode::kReplace);
  struct stat st {};
  const int stat_result = ::fstat(fd, &st);
  ::close(fd);
  if (stat_result == 0) written_ = std::make_pair(st.st_dev, st.st_ino);
  create_ = false;  // the file is this run's now
  bytes_written_ += content.size();
  last_write_ = std::chrono::steady_clock::now();
  last_cost_ = last_write_ - start;
}

bool RunLog::write_running(const std::vector<EpochResult>& epochs, double wall_seconds) {
  if (std::chrono::steady_clock::now() - last_write_ < rewrite_interval(last_cost_)) return false;
  write("running", epochs, wall_seconds);
  return true;
}

void RunLog::set_events(const std::vector<CallbackEvent>& events) {
  if (!log_["experiment"].contains("callbacks")) return;
  nlohmann::json j = nlohmann::json::array();
  for (const auto& e : events) j.push_back(callback_event_json(e));
  log_["callback_events"] = j;
}

void RunLog::set_evaluation(const Evaluation& e) { log_["evaluation"] = evaluation_json(e); }

void RunLog::set_error(const std::string& message) {
  if (message.empty()) {
    log_.erase("error");
  } else {
    log_["error"] = message;
  }
}

void RunLog::set_granted_threads(int threads) { log_["run"]["threads"] = threads; }

void RunLog::set_placement(const nlohmann::json& placement) { log_["run"]["placement"] = placement; }

void RunLog::set_distributed(const nlohmann::json& distributed) { log_["distributed"] = distributed; }

void RunLog::add_rank_stats(const nlohmann::json& epoch_stats) {
  log_["distributed"]["epochs"].push_back(epoch_stats);
}

void RunLog::set_build(const nlohmann::json& build) { log_["build"] = build; }

namespace {
std::tm utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}
std::string format_now(const char* fmt) {
  const std::tm tm = utc_now();
  char buf[64];
  std::strftime(buf, sizeof(buf), fmt, &tm);
  return buf;
}
}  // namespace

std::string utc_timestamp() { return format_now("%Y-%m-%dT%H:%M:%SZ"); }
std::string utc_stamp_compact() { return format_now("%Y%m%dT%H%M%SZ"); }

}  // namespace mlpbench
