// Column sums (bias gradients), transposes, finiteness checks.
// Compiled once per Highway target (foreach_target.h re-includes this file); the per-target
// functions are exported and dispatched below, as in Highway's skeleton.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/elementwise.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>

#include "hwy/highway.h"
#include "kernels/load-inl.h"
#include "mlpbench/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Threads split the columns in whole vectors; each column sums its rows in order.
void ColumnSums(const float* x, size_t rows, size_t cols, size_t ld, float* out, Part part) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const size_t vecs = (cols + N - 1) / N;
  for (size_t q = part.begin(vecs); q < part.end(vecs); ++q) {
    const size_t j = q * N;
    const auto m = hn::FirstN(d, HWY_MIN(cols - j, N));
    auto sum = hn::Zero(d);
    for (size_t i = 0; i < rows; ++i) sum = hn::Add(sum, LoadMasked(m, d, x + i * ld + j));
    hn::BlendedStore(sum, m, d, out + j);
  }
}

// Blocked so that both sides stay in cache; threads split the output's rows (input columns).
void Transpose(const float* in, size_t rows, size_t cols, float* out, Part part) {
  constexpr size_t kBlock = 16;
  const size_t col_blocks = (cols + kBlock - 1) / kBlock;
  for (size_t cb = part.begin(col_blocks); cb < part.end(col_blocks); ++cb) {
    const size_t j0 = cb * kBlock, j1 = std::min(cols, j0 + kBlock);
    for (size_t i0 = 0; i0 < rows; i0 += kBlock) {
      const size_t i1 = std::min(rows, i0 + kBlock);
      for (size_t j = j0; j < j1; ++j) {
        for (size_t i = i0; i < i1; ++i) out[j * rows + i] = in[i * cols + j];
      }
    }
  }
}

bool AnyNonFinite(const float* x, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  // x * 0 is 0 for finite x and NaN for NaN or infinity.
  auto acc = hn::Zero(d);
  size_t i = 0;
  for (; i + N <= n; i += N) acc = hn::Add(acc, hn::Mul(hn::LoadU(d, x + i), hn::Zero(d)));
  if (i < n) {
    const auto m = hn::FirstN(d, n - i);
    acc = hn::Add(acc, hn::Mul(LoadMasked(m, d, x + i), hn::Zero(d)));
  }
  // Eq is an ordered compare: false exactly where acc is NaN.
  return !hn::AllTrue(d, hn::Eq(acc, acc));
}

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlpbench::kernels {

HWY_EXPORT(ColumnSums);
HWY_EXPORT(Transpose);
HWY_EXPORT(AnyNonFinite);

void column_sums(const float* x, size_t rows, size_t cols, size_t ld, float* out, Part part) {
  HWY_DYNAMIC_DISPATCH(ColumnSums)(x, rows, cols, ld, out, part);
}

void transpose(const float* in, size_t rows, size_t cols, float* out, Part part) {
  HWY_DYNAMIC_DISPATCH(Transpose)(in, rows, cols, out, part);
}

bool any_non_finite(const float* x, size_t n) { return HWY_DYNAMIC_DISPATCH(AnyNonFinite)(x, n); }

}  // namespace mlpbench::kernels
#endif  // HWY_ONCE
