#pragma once
// The one policy for every file a run writes (log, checkpoint, weights, sweep logs):
//  - nothing existing is replaced without --force, and a special file (device, FIFO, socket,
//    folder) never, with or without it;
//  - outputs may not collide with each other or with an input file;
//  - every output's folder is created and proven writable before training starts;
//  - creation is exclusive: a complete file is link(2)ed into place, so two processes can never
//    both believe they own a path; later versions replace it with rename(2);
//  - readers see the old content or the new, never a part (a temporary file, fsync, rename).
#include <stdexcept>
#include <string>
#include <vector>

namespace mlpbench {

// An output path that exists already (exclusive creation lost the race, or no --force).
struct OutputExists : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct PlannedOutput {
  std::string path;
  std::string option;       // names it in messages: "--out", "--checkpoint", "--save-weights"
  bool may_replace = false; // --force, or a file this very run wrote before (a resumed run's)
  bool locked = false;      // the run holds "<path>.lock" beside it while it writes (run logs, checkpoints)
};

// Checks a run's outputs before training (throws ConfigError naming the option and path):
// none is a folder or a special file, none exists unless it may be replaced, no two name the
// same file, none is one of `inputs`; a locked output's lock file is neither another output
// nor an input, and is absent or a run's lock (never someone's file, which the run would
// remove); each folder is created if missing and must accept a new file (a probe file is
// created and removed).
void check_outputs(const std::vector<PlannedOutput>& outputs, const std::vector<std::string>& inputs);

enum class WriteMode {
  kCreate,   // exclusive: throws OutputExists if anything is at `path`
  kReplace,  // replaces a regular file (or creates one); never a special file
};

// Writes `content` to `path` atomically (see above), creating missing parent folders. Throws
// OutputExists (kCreate, path taken) or std::runtime_error naming the path.
void write_output(const std::string& path, const std::string& content, WriteMode mode);
// The same, and returns a descriptor open for writing on the file now at `path` (the caller
// closes it): for updates of that very file in place (the run log, run_log.h).
int write_output_open(const std::string& path, const std::string& content, WriteMode mode);

// Removes the temporary file of a write in progress, if any. Async-signal-safe: for a second
// signal, which ends the process at once, mid-write.
void remove_partial_output_now();

// True if `a` and `b` name the same existing file, or the same path once made absolute.
bool same_file(const std::string& a, const std::string& b);

}  // namespace mlpbench
