#pragma once
// The Google Benchmark flags the benchmark programs check before any benchmark runs, in one pass
// over argv (Google Benchmark 1.7 checks none of them: --benchmark_repetitions=-1 aborted in
// std::length_error, --benchmark_out=FIFO blocked forever):
//   --benchmark_out=FILE       once, not empty, not a folder nor a special file (FIFO, device,
//                              socket). FILE's folder is made (Google Benchmark does not, so a
//                              documented command writing into results/runs/ failed in a fresh
//                              clone). Google Benchmark writes a temporary file beside FILE that
//                              is renamed over FILE when the run ends, as the engine writes its
//                              outputs (output_paths.h): a reader sees the old file or the whole
//                              new one, a link at FILE is replaced, never followed, and a run
//                              ended by SIGINT, SIGTERM or SIGHUP leaves no part behind. An
//                              existing regular file is replaced, as Google Benchmark does
//                              (tools regenerate results files in place).
//   --benchmark_repetitions=N  digits only, 1 to INT32_MAX (Google Benchmark's int32);
//   --benchmark_min_time=S     a positive number of seconds.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

// bench/CMakeLists.txt gives these programs the engine's public headers only; cli_options.h is
// header-only (integer_in: the digits-only integers of run_experiment).
#include "../engine/apps/include/mlpbench/cli_options.h"

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

namespace detail {

// The run's --benchmark_out: FILE, the temporary file Google Benchmark writes instead, and the
// argument naming it that argv points to. Static storage: the exit and signal handlers read it.
struct BenchmarkOut {
  std::string path, temporary, argument;
};
inline BenchmarkOut g_out;
// g_out.temporary's name while it may be removed; null once renamed. An atomic pointer is all a
// signal handler may safely read.
inline std::atomic<const char*> g_temporary{nullptr};

inline void remove_temporary() {
  if (const char* name = g_temporary.load()) ::unlink(name);
}

// SA_RESETHAND has restored the default action, so the re-raised signal, delivered once this
// returns, ends the process with the signal's own status.
inline void remove_temporary_on_signal(int sig) {
  remove_temporary();
  std::raise(sig);
}

// Removes the temporary file at exit (main's return, or Google Benchmark's std::exit after
// --help or a bad flag) and on SIGINT, SIGTERM and SIGHUP, unless the signal is ignored (nohup).
inline void remove_temporary_when_ending() {
  std::atexit(remove_temporary);
  struct sigaction action {};
  action.sa_handler = remove_temporary_on_signal;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(sig, &action, nullptr);
  }
}

// What `flag`'s value is wrong with ("": nothing), for the flags whose values are checked here.
inline std::string numeric_flag_error(std::string_view flag, const std::string& value) {
  if (flag == "--benchmark_repetitions") {
    return mlpbench::cli::integer_in(1, std::numeric_limits<int32_t>::max())(value);
  }
  if (flag == "--benchmark_min_time") {
    double seconds = 0;
    const char* end = value.data() + value.size();
    const auto [stop, ec] = std::from_chars(value.data(), end, seconds);
    if (ec == std::errc() && stop == end && std::isfinite(seconds) && seconds > 0) return "";
    return "expected a positive number of seconds, got \"" + value + "\"";
  }
  return "";
}

// What is wrong with FILE as an output ("": nothing): a folder or a special file. A link is
// judged by what it points to (a link to nothing is fine: it will be replaced).
inline std::string output_kind_error(const std::string& path) {
  if (path.empty()) return "an empty value";
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (path.back() == '/' || (exists && S_ISDIR(st.st_mode))) return path + " is a folder; give a file name";
  if (!exists || S_ISREG(st.st_mode)) return "";
  const char* kind = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : "a device";
  return path + " is " + kind + "; give a regular file's path";
}

// Creates the temporary file beside g_out.path that Google Benchmark will write (mode 0644, as
// the engine's outputs); false after a message.
inline bool create_temporary(const char* program) {
  const std::filesystem::path path(g_out.path);
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : ".";
  g_out.temporary = (folder / ("." + path.filename().string() + ".XXXXXX")).string();
  const int fd = mkstemp(g_out.temporary.data());
  if (fd < 0) {
    std::fprintf(stderr, "%s: --benchmark_out: cannot write in the folder %s: %s\n", program, folder.c_str(),
                 std::strerror(errno));
    return false;
  }
  g_temporary = g_out.temporary.c_str();
  fchmod(fd, 0644);
  ::close(fd);
  return true;
}

}  // namespace detail

// Checks argv's Google Benchmark flags (see above) and points its --benchmark_out at a temporary
// file that finish_benchmark_out() puts in place. False after a one-line message naming the
// program, the flag and the value: exit 2.
inline bool check_benchmark_flags(int argc, char** argv, const char* program) {
  int out_index = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    const size_t equals = arg.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view flag = arg.substr(0, equals);
    const std::string value(arg.substr(equals + 1));
    std::string error;
    if (flag == "--benchmark_out") {
      error = out_index ? "given more than once" : detail::output_kind_error(value);
      out_index = i;
    } else {
      error = detail::numeric_flag_error(flag, value);
    }
    if (!error.empty()) {
      std::fprintf(stderr, "%s: %s: %s\n", program, std::string(flag).c_str(), error.c_str());
      return false;
    }
  }
  if (!out_index) return true;
  if (!make_benchmark_out_folders(argc, argv, program)) return false;
  detail::g_out.path = std::string_view(argv[out_index]).substr(std::strlen("--benchmark_out="));
  detail::remove_temporary_when_ending();
  if (!detail::create_temporary(program)) return false;
  detail::g_out.argument = "--benchmark_out=" + detail::g_out.temporary;
  argv[out_index] = detail::g_out.argument.data();
  return true;
}

// After RunSpecifiedBenchmarks (which has closed the file): renames the temporary file over
// --benchmark_out's FILE, if there is one. False after a message naming where the results are.
inline bool finish_benchmark_out(const char* program) {
  const char* temporary = detail::g_temporary.load();
  if (!temporary) return true;
  const bool renamed = std::rename(temporary, detail::g_out.path.c_str()) == 0;
  if (!renamed) {
    std::fprintf(stderr, "%s: --benchmark_out: cannot write %s: %s (the results are in %s)\n", program,
                 detail::g_out.path.c_str(), std::strerror(errno), temporary);
  }
  detail::g_temporary = nullptr;  // renamed, or kept for its results
  return renamed;
}

}  // namespace mlpbench::bench
