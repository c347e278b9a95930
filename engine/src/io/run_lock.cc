#include "io/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "mlpbench/errors.h"

namespace mlpbench {
namespace fs = std::filesystem;

RunLocks::~RunLocks() {
  // Unlinked while still locked: a process that opened this file meanwhile finds, once it gets
  // the lock, that the path no longer names it, and locks a new file instead (hold()).
  for (const Held& h : held_) {
    ::unlink(h.lock_path.c_str());
    ::close(h.fd);
  }
}

void RunLocks::hold(const std::string& path, const std::string& option) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) canonical = fs::absolute(path).lexically_normal();
  const std::string lock_path = canonical.string() + ".lock";
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
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      char pid[32] = {};
      const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
      ::close(fd);
      if (err != EWOULDBLOCK) {
        throw ConfigError(option + ": " + lock_path + ": cannot lock: " + std::strerror(err));
      }
      const std::string holder = n > 0 ? "process " + std::string(pid, static_cast<size_t>(n)) : "another process";
      throw ConfigError(option + ": " + path + ": " + holder + " is writing this run (it holds " + lock_path +
                        "); two writers would lose epochs: wait until it ends");
    }
    struct stat now {};
    if (::stat(lock_path.c_str(), &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev) {
      ::close(fd);  // its holder removed it as we locked it: lock the file now there
      continue;
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      // The pid only makes the refusal's message friendlier; the lock holds without it.
    }
    held_.push_back({lock_path, fd});
    return;
  }
  throw ConfigError(option + ": " + lock_path + ": the lock file keeps being replaced");
}

}  // namespace mlpbench
