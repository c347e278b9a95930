// The machine's FMA peak, for reporting kernels as a fraction of it.
// Compiled once per Highway target (foreach_target.h re-includes this file); the per-target
// functions are exported and dispatched below, as in Highway's skeleton.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/peak.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "mlpbench/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 12 independent chains: more than FMA latency (4) x ports (2) on the x86 cores we know, and
// with the two constants few enough to live in 16 registers.
double FmaPeakLoop(size_t iterations) {
  const hn::ScalableTag<float> d;
  constexpr int kChains = 12;
  // Operands the compiler cannot know, and every lane of every chain observed at the end:
  // otherwise GCC may fold or drop the chains on some targets.
  static volatile float operands[2] = {0.9999999f, 1e-7f};
  const auto mul = hn::Set(d, operands[0]), add = hn::Set(d, operands[1]);
  hn::Vec<decltype(d)> acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = hn::Set(d, 1.0f + c * 1e-3f);
  for (size_t it = 0; it < iterations; ++it) {
    for (int c = 0; c < kChains; ++c) acc[c] = hn::MulAdd(acc[c], mul, add);
  }
  auto sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = hn::Add(sum, acc[c]);
  static volatile float sink = 0;
  sink = sink + hn::GetLane(hn::SumOfLanes(d, sum));
  return 2.0 * static_cast<double>(iterations) * kChains * hn::Lanes(d);
}

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlpbench::kernels {

HWY_EXPORT(FmaPeakLoop);

double fma_peak_loop(size_t iterations) { return HWY_DYNAMIC_DISPATCH(FmaPeakLoop)(iterations); }

}  // namespace mlpbench::kernels
#endif  // HWY_ONCE
