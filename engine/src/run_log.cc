#include "mlpbench/run_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "mlpbench/build_info.h"

namespace mlpbench {
namespace fs = std::filesystem;

void write_file_atomically(const std::string& path, const std::string& content) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(path + ": cannot create folder " + dir.string() + ": " + ec.message());
  std::string tmp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = mkstemp(tmp.data());
  if (fd < 0) throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
  size_t done = 0;
  bool ok = true;
  while (ok && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  const int saved = errno;
  ok = ok && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : saved);
    ::unlink(tmp.c_str());
    throw std::runtime_error(path + ": cannot write: " + why);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);  // makes the rename itself durable
    ::close(dfd);
  }
}

nlohmann::json epoch_json(const EpochResult& r) {
  return {{"epoch", r.epoch},
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
}

nlohmann::json summary_json(const std::vector<EpochResult>& epochs, double wall_seconds) {
  nlohmann::json s = {{"wall_seconds", wall_seconds}};
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
  s["final_test_accuracy"] = epochs.back().test_accuracy;
  s["best_test_accuracy"] = best;
  s["total_train_seconds"] = total;
  s["mean_epoch_seconds"] = total / n;
  s["median_epoch_seconds"] = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  return s;
}

RunLog::RunLog(std::string path, const nlohmann::json& experiment, const nlohmann::json& run)
    : path_(std::move(path)) {
  log_ = {{"schema", kRunLogSchema},
          {"status", "running"},
          {"experiment", experiment},
          {"build", build_json()},
          {"host", host_json()},
          {"run", run},
          {"epochs", nlohmann::json::array()},
          {"summary", nlohmann::json::object()}};
}

void RunLog::write(const std::string& status, const std::vector<EpochResult>& epochs,
                   double wall_seconds) {
  log_["status"] = status;
  log_["epochs"] = nlohmann::json::array();
  for (const auto& e : epochs) log_["epochs"].push_back(epoch_json(e));
  log_["summary"] = summary_json(epochs, wall_seconds);
  write_file_atomically(path_, log_.dump(2) + "\n");
}

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
