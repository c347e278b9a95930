#pragma once
// Shared by the fuzz targets: how a finding is reported. libFuzzer treats an abort as a crash and
// saves the input; the replay driver (replay_main.cc) dies the same way, so CTest fails.
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace mlpbench_fuzz {

[[noreturn]] inline void finding(const char* target, const char* what, const char* detail) {
  std::fprintf(stderr, "%s: FINDING: %s%s%s\n", target, what, detail ? ": " : "",
               detail ? detail : "");
  std::fflush(stderr);
  std::abort();
}

// Runs `body`; an exception escaping it is one the target did not expect (the expected error
// type is caught inside `body`), so it is a finding, reported with its what() before aborting.
template <typename Body>
void guarded(const char* target, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    finding(target, "unexpected exception", e.what());
  } catch (...) {
    finding(target, "unexpected exception not derived from std::exception", nullptr);
  }
}

}  // namespace mlpbench_fuzz
