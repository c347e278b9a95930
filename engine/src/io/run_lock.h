#pragma once
// One writer per run: a process that writes a run's log or checkpoint holds "<path>.lock"
// beside each (flock(2), exclusive, for the run's life), so a second process resuming the same
// checkpoint, or continuing the same log, is refused at once instead of both writing.
#include <memory>
#include <string>
#include <vector>

namespace mlpbench {

// "<path>.lock", with `path` made canonical first: two spellings of one file share one lock.
std::string run_lock_path(const std::string& path);

// Why the file at `lock_path` cannot serve as a run's lock ("" if it can: absent, or a lock
// file a run wrote). Anything else there is someone's file: never truncated, never removed.
std::string unusable_lock_file(const std::string& lock_path);

class RunLocks {
 public:
  RunLocks() = default;
  RunLocks(const RunLocks&) = delete;
  RunLocks& operator=(const RunLocks&) = delete;
  ~RunLocks();  // removes the lock files still at their paths, then releases the locks

  // Locks run_lock_path(path), unless this object holds it already. Throws ConfigError naming
  // `option`, the path and the holder's pid if another process holds it, or if a file that is
  // not a run's lock is at that path. A folder that does not exist, or that this process cannot
  // create files in, gets no lock (no writer of this run can be there).
  void hold(const std::string& path, const std::string& option);

 private:
  struct Held {
    std::string lock_path;
    int fd;
  };
  std::vector<Held> held_;
};

}  // namespace mlpbench
