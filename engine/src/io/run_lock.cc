#include "io/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "mlpbench/errors.h"

namespace mlpbench {
namespace fs = std::filesystem;

namespace {

// What a lock file holds: this marker and the holder's pid. Older versions wrote the pid alone.
constexpr char kMarker[] = "mlpbench run lock, process ";
constexpr size_t kMaxLockBytes = 64;

// The holder's pid in a lock's content ("" for an empty lock, whose creator was stopped before
// writing), or nothing if the content is not a lock's: the marker and a pid, or digits alone.
std::optional<std::string> lock_pid(const std::string& content) {
  if (content.size() > kMaxLockBytes) return std::nullopt;
  const std::string marker = kMarker;
  std::string pid = content.compare(0, marker.size(), marker) == 0 ? content.substr(marker.size()) : content;
  if (!pid.empty() && pid.back() == '\n') pid.pop_back();
  if (content.empty()) return pid;
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return pid;
}

// The lock's content, at most kMaxLockBytes + 1 bytes of it (enough to tell it is not a lock).
std::string read_lock(int fd) {
  char buf[kMaxLockBytes + 1];
  const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

std::string run_lock_path(const std::string& path) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) canonical = fs::absolute(path).lexically_normal();
  return canonical.string() + ".lock";
}

std::string unusable_lock_file(const std::string& lock_path) {
  struct stat st {};
  if (::lstat(lock_path.c_str(), &st) != 0) return "";  // absent (or out of reach: hold() tells)
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  if (st.st_size > static_cast<off_t>(kMaxLockBytes)) return "is not a run's lock file";
  const int fd = ::open(lock_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "";
  const std::string content = read_lock(fd);
  ::close(fd);
  return lock_pid(content) ? "" : "is not a run's lock file";
}

RunLocks::~RunLocks() {
  // Unlinked while still locked: a process that opened this file meanwhile finds, once it gets
  // the lock, that the path no longer names it, and locks a new file instead (hold()). Only if
  // the path still names this lock: whatever replaced it is not this run's to remove.
  for (const Held& h : held_) {
    struct stat mine {}, now {};
    if (::fstat(h.fd, &mine) == 0 && ::lstat(h.lock_path.c_str(), &now) == 0 && mine.st_ino == now.st_ino &&
        mine.st_dev == now.st_dev) {
      ::unlink(h.lock_path.c_str());
    }
    ::close(h.fd);
  }
}

void RunLocks::hold(const std::string& path, const std::string& option) {
  const std::string lock_path = run_lock_path(path);
  for (const Held& h : held_) {
    if (h.lock_path == lock_path) return;
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    // Never through a symlink: whoever could plant one would make this process truncate or
    // lock a file of their choosing.
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
    if (fd < 0 && errno == ENOENT) return;  // no folder, so no writer there (yet: it is locked once made)
    if (fd < 0 && (errno == EACCES || errno == EROFS)) {  // another user's lock, or no lock at all
      fd = ::open(lock_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0 && (errno == ENOENT || errno == EACCES)) return;
    }
    if (fd < 0) {
      throw ConfigError(option + ": " + lock_path + ": cannot open the run's lock file: " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw ConfigError(option + ": " + lock_path + ": the run's lock file is not a regular file");
    }
    if (!lock_pid(read_lock(fd))) {  // someone's file: this run neither truncates nor removes it
      ::close(fd);
      throw ConfigError(option + ": " + path + ": " + lock_path + " exists and is not a run's lock file; " +
                        "move it away, or write this output elsewhere");
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::optional<std::string> pid = lock_pid(read_lock(fd));
      const std::string holder = pid && !pid->empty() ? "process " + *pid : "another process";
      ::close(fd);
      if (err != EWOULDBLOCK) {
        throw ConfigError(option + ": " + lock_path + ": cannot lock: " + std::strerror(err));
      }
      throw ConfigError(option + ": " + path + ": " + holder + " is writing this run (it holds " + lock_path +
                        "); two writers would lose epochs: wait until it ends");
    }
    struct stat now {};
    if (::stat(lock_path.c_str(), &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev) {
      ::close(fd);  // its holder removed it as we locked it: lock the file now there
      continue;
    }
    const std::string pid = kMarker + std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      // The pid only makes the refusal's message friendlier; the lock holds without it.
    }
    held_.push_back({lock_path, fd});
    return;
  }
  throw ConfigError(option + ": " + lock_path + ": the lock file keeps being replaced");
}

}  // namespace mlpbench
