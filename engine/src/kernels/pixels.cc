// Gathering a batch: byte pixels of the dataset's rows, scaled to [0, 1] on the way.
// Compiled once per Highway target (foreach_target.h re-includes this file); the per-target
// functions are exported and dispatched below, as in Highway's skeleton.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/pixels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstdint>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "mlpbench/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// x / 255 as float division rounds it, for whole numbers x in [0, 255]. With a fused
// multiply-add, the product with the rounded reciprocal is corrected by one residual step
// (q + (x - q * 255) / 255, the residual exact): the correctly rounded quotient for each of the
// 256 inputs (tests check them all on every target), without the divider (Adam's bottleneck).
template <class D>
HWY_INLINE hn::Vec<D> DivideBy255(D d, hn::Vec<D> x) {
#if HWY_NATIVE_FMA
  const auto reciprocal = hn::Set(d, 1.0f / 255.0f);
  const auto q = hn::Mul(x, reciprocal);
  const auto residual = hn::NegMulAdd(q, hn::Set(d, 255.0f), x);
  return hn::MulAdd(residual, reciprocal, q);
#else
  return hn::Div(x, hn::Set(d, 255.0f));
#endif
}

// Rows of a batch are random rows of a dataset larger than the caches: each is a DRAM miss the
// hardware prefetchers cannot foresee. Requesting every line of the row kRowsAhead ahead while
// converting this one keeps several rows in flight (measured with BM_GatherBatch: 1 to 4 rows
// ahead are best, 8 slower again; bench/PERF.md #19).
inline constexpr size_t kRowsAhead = 2;

HWY_INLINE void PrefetchRow(const uint8_t* row, size_t features) {
  if (features == 0) return;
  for (size_t b = 0; b < features; b += 64) hwy::Prefetch(row + b);
  hwy::Prefetch(row + features - 1);  // rows need not start on a line: the last may be one more
}

// `streaming`: the batch is written around this core's caches, because other threads read it
// next: a normal store to a line another core has read must first invalidate that core's copy,
// one latency-bound round trip per line (a model B batch is 400 lines; measured: half the time
// with streaming stores, bench/PERF.md #23). Rows whose start is not vector-aligned use normal
// stores.
void GatherPixels(const uint8_t* pixels, size_t features, const uint32_t* indices, size_t rows,
                  float* out, Part part, bool streaming) {
  const hn::ScalableTag<float> d;
  const hn::Rebind<int32_t, decltype(d)> di;
  const hn::Rebind<uint8_t, decltype(d)> d8;
  const size_t N = hn::Lanes(d);
  const size_t begin = part.begin(rows), end = part.end(rows);
  auto row_of = [&](size_t i) { return pixels + static_cast<size_t>(indices[i]) * features; };
  for (size_t i = begin; i < begin + kRowsAhead && i < end; ++i) PrefetchRow(row_of(i), features);
  for (size_t i = begin; i < end; ++i) {
    if (i + kRowsAhead < end) PrefetchRow(row_of(i + kRowsAhead), features);
    const uint8_t* src = row_of(i);
    float* dst = out + i * features;
    const bool stream = streaming && reinterpret_cast<uintptr_t>(dst) % (N * sizeof(float)) == 0;
    size_t j = 0;
    for (; j + N <= features; j += N) {
      const auto x = hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(d8, src + j)));
      if (stream) {
        hn::Stream(DivideBy255(d, x), d, dst + j);
      } else {
        hn::StoreU(DivideBy255(d, x), d, dst + j);
      }
    }
    for (; j < features; ++j) dst[j] = static_cast<float>(src[j]) / 255.0f;
  }
  if (streaming) hwy::FlushStream();  // ordered before the barrier that publishes the batch
}

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlpbench::kernels {

HWY_EXPORT(GatherPixels);

void gather_pixels(const uint8_t* pixels, size_t features, const uint32_t* indices, size_t rows,
                   float* out, Part part, bool streaming) {
  HWY_DYNAMIC_DISPATCH(GatherPixels)(pixels, features, indices, rows, out, part, streaming);
}

}  // namespace mlpbench::kernels
#endif  // HWY_ONCE
