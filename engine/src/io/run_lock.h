#pragma once
// One writer per run: a process that writes a run's log or checkpoint holds "<path>.lock"
// beside each (flock(2), exclusive, for the run's life), so a second process resuming the same
// checkpoint, or continuing the same log, is refused at once instead of both writing.
#include <memory>
#include <string>
#include <vector>

namespace mlpbench {

class RunLocks {
 public:
  RunLocks() = default;
  RunLocks(const RunLocks&) = delete;
  RunLocks& operator=(const RunLocks&) = delete;
  ~RunLocks();  // removes the lock files, then releases the locks

  // Locks "<path>.lock" (path made canonical, so two spellings of one file share one lock),
  // unless this object holds it already. Throws ConfigError naming `option`, the path and the
  // holder's pid if another process holds it. A folder that does not exist, or that this
  // process cannot create files in, gets no lock (no writer of this run can be there).
  void hold(const std::string& path, const std::string& option);

 private:
  struct Held {
    std::string lock_path;
    int fd;
  };
  std::vector<Held> held_;
};

}  // namespace mlpbench
