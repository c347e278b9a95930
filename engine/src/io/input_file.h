#pragma once
// The one way the engine opens a file it reads (datasets, checkpoints, experiment files): only
// regular files, never opened in a way that can block (a FIFO, socket or device in place of a
// file is refused at once), with messages that tell a missing file from a folder on the path
// that cannot be searched.
#include <sys/types.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace mlpbench {

// Why an input could not be read; what() is "<path>: <reason>". Callers turn it into their
// own error kind (DataError for datasets, ConfigError for experiments and checkpoints).
struct InputFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The whole content of the regular file `path`, refused (InputFileError) if it is anything
// else or larger than `max_bytes`. `what` names the kind of file in messages ("an IDX file").
// What a file that is not a regular file is, for messages: "a folder", "a FIFO (named pipe)",
// "a socket", "a character device", "a block device"; nullptr for a regular file.
const char* special_file_kind(mode_t mode);

std::string read_input_file(const std::string& path, uint64_t max_bytes, const std::string& what);

// Opens `path` for reading without blocking and returns the descriptor of a regular file
// (O_CLOEXEC, the non-blocking flag cleared again); throws InputFileError otherwise.
int open_input_file(const std::string& path, const std::string& what);

}  // namespace mlpbench
