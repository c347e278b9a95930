#pragma once
// Shared helpers for the tests: temporary folders, small IDX files, running the CLI.
#include <cstdint>
#include <string>
#include <vector>

namespace test_support {

// A fresh, empty folder, removed at process exit.
std::string temp_dir();

void write_file(const std::string& path, const std::string& bytes);
void write_file(const std::string& path, const std::vector<uint8_t>& bytes);
std::string read_file(const std::string& path);

// An IDX file of unsigned bytes with the given dimensions (big-endian header, type 0x08).
std::vector<uint8_t> make_idx(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data);
std::vector<uint8_t> gzip(const std::vector<uint8_t>& raw);

// Writes a tiny MNIST-shaped dataset (train and test; images are noisy class-dependent
// patterns a network can learn) under <dir>/mnist/, as the real files are laid out.
void write_tiny_mnist(const std::string& dir, size_t train, size_t test, size_t side = 28);

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs a shell command line, capturing stdout and stderr.
CommandResult run(const std::string& command);

// The team size run_team() grants when asked for `threads` (OpenMP may grant fewer; a build
// without OpenMP always runs one thread).
int granted_threads(int threads);
// For tests that compare thread counts: true if `threads` are granted; otherwise a WARN says
// the comparison at that count is skipped (the "[threads]" test fails for it in an OpenMP
// build), so a skipped comparison is visible instead of passing silently.
bool team_of(int threads);

// The run_experiment binary and the source tree, as CMake configured them.
std::string run_experiment_path();
std::string source_dir();
// The real data folder ($MLPBENCH_DATA or <source>/data); empty if MNIST is not there.
std::string real_data_dir();

}  // namespace test_support
