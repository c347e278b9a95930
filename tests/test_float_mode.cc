// The floating-point mode of the engine's threads: denormals flushed inside a team, the
// caller's own mode untouched.
#include <catch2/catch.hpp>

#include <atomic>
#include <cfloat>

#include "mlpbench/float_mode.h"
#include "mlpbench/parallel.h"

namespace test_float_mode {

using namespace mlpbench;

namespace {

// Half of the smallest normal float: a denormal result under IEEE 754, zero when flushed.
// volatile so the compiler cannot fold it at compile time (in IEEE mode).
float halve_smallest_normal() {
  volatile float x = FLT_MIN;
  volatile float half = 0.5f;
  return x * half;
}

// A denormal input: under DAZ it reads as zero, so adding it to zero gives zero.
float add_denormal_to_zero() {
  volatile float denormal = FLT_MIN / 4.0f;  // computed in the caller's IEEE mode
  volatile float zero = 0.0f;
  return denormal + zero;
}

}  // namespace

TEST_CASE("the caller's IEEE mode keeps denormals", "[float_mode]") {
  REQUIRE(halve_smallest_normal() == FLT_MIN / 2.0f);
  REQUIRE(halve_smallest_normal() > 0.0f);
}

TEST_CASE("FlushDenormals flushes results and inputs, then restores the mode", "[float_mode]") {
  if (!can_flush_denormals()) {
    WARN("this CPU has no flush-to-zero mode the engine knows: nothing to test");
    return;
  }
  const float denormal_input = FLT_MIN / 4.0f;
  {
    const FlushDenormals flush;
    CHECK(halve_smallest_normal() == 0.0f);
    volatile float in = denormal_input, zero = 0.0f;
    CHECK(in + zero == 0.0f);
    {
      const FlushDenormals nested;  // restores to "flushing", not to IEEE
      CHECK(halve_smallest_normal() == 0.0f);
    }
    CHECK(halve_smallest_normal() == 0.0f);
  }
  REQUIRE(halve_smallest_normal() > 0.0f);
  REQUIRE(add_denormal_to_zero() > 0.0f);
}

TEST_CASE("every thread of a team flushes denormals and the caller's mode is kept", "[float_mode][parallel]") {
  if (!can_flush_denormals()) {
    WARN("this CPU has no flush-to-zero mode the engine knows: nothing to test");
    return;
  }
  for (int threads : {1, 2, 3}) {
    std::atomic<int> flushed{0}, members{0};
    run_team(threads, [&](Team&) {
      members.fetch_add(1);
      if (halve_smallest_normal() == 0.0f) flushed.fetch_add(1);
    });
    INFO("threads " << threads);
    REQUIRE(members.load() >= 1);
    REQUIRE(flushed.load() == members.load());
    REQUIRE(halve_smallest_normal() > 0.0f);  // run_team gave the caller its IEEE mode back
  }
}

}  // namespace test_float_mode
