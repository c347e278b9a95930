#pragma once
// Google Benchmark's --benchmark_out=FILE does not make FILE's folder, so a documented command
// writing into results/runs/ failed in a fresh clone ("invalid file name") until the engine had
// run once. The benchmark programs make the folder first, as the engine does for its logs.
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace mlpbench::bench {

// Makes the folder of every --benchmark_out=FILE in argv; false (after a one-line message
// naming the program and the folder) when one cannot be made.
inline bool make_benchmark_out_folders(int argc, char** argv, const char* program) {
  constexpr std::string_view kFlag = "--benchmark_out=";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg.substr(0, kFlag.size()) != kFlag) continue;
    const std::filesystem::path folder = std::filesystem::path(arg.substr(kFlag.size())).parent_path();
    if (folder.empty()) continue;
    std::error_code error;
    std::filesystem::create_directories(folder, error);
    if (error) {
      std::fprintf(stderr, "%s: --benchmark_out: cannot make the folder %s: %s\n", program, folder.c_str(),
                   error.message().c_str());
      return false;
    }
  }
  return true;
}

}  // namespace mlpbench::bench
