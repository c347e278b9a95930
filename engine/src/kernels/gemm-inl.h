// GEMM with fused bias / ReLU / ReLU' epilogues, per Highway target. Included by kernels.cc
// once per compiled target (foreach_target.h); the guard below toggles per target.
#if defined(MLPBENCH_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLPBENCH_GEMM_INL_H_
#undef MLPBENCH_GEMM_INL_H_
#else
#define MLPBENCH_GEMM_INL_H_
#endif

#include <algorithm>

#include "hwy/highway.h"
#include "kernels/load-inl.h"
#include "kernels/optimizer-inl.h"
#include "mlpbench/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Register tile: kTileRows x kTileVecs vectors of accumulators, built from broadcast-FMA outer
// products (one broadcast of A per row, one load of B per vector, kTileRows*kTileVecs FMAs per
// step of k). To hide FMA latency the tile needs >= latency (4) x FMA ports (2) = 8 independent
// accumulators; registers bound it from above: accumulators + kTileVecs B vectors + 1 broadcast.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// 32 zmm registers: 8x2 = 16 accumulators + 2 + 1. 8 rows divide the batch sizes we train with,
// 32 columns divide 512, 64 and 32.
inline constexpr size_t kTileRows = 8;
inline constexpr size_t kTileVecs = 2;
#else
// 16 registers (AVX2, SSE4, ...): 4x3 = 12 accumulators + 3 + 1 = 16.
inline constexpr size_t kTileRows = 4;
inline constexpr size_t kTileVecs = 3;
#endif

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// One register tile of C: rows [i0, i0 + kRows), vectors [j0, j0 + kVecs * lanes), the last
// vector holding only `last_cols` valid columns when kPartial.
template <size_t kRows, size_t kVecs, bool kPartial>
HWY_NOINLINE void MicroTile(const GemmArgs& g, size_t i0, size_t j0, size_t last_cols) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const auto last_mask = hn::FirstN(d, kPartial ? last_cols : N);
  auto load_b = [&](const float* p, size_t q) HWY_ATTR {
    if (kPartial && q == kVecs - 1) return LoadMasked(last_mask, d, p + q * N);
    return hn::LoadU(d, p + q * N);
  };

  VF acc[kRows][kVecs];
  for (size_t q = 0; q < kVecs; ++q) {
    const VF init = g.bias ? load_b(g.bias + j0, q) : hn::Zero(d);
    for (size_t r = 0; r < kRows; ++r) acc[r][q] = init;
  }

  const float* a_rows[kRows];
  for (size_t r = 0; r < kRows; ++r) a_rows[r] = g.a + (i0 + r) * g.a_row_stride;
  const float* b = g.b + j0;
  for (size_t p = 0; p < g.k; ++p, b += g.ldb) {
    VF bv[kVecs];
    for (size_t q = 0; q < kVecs; ++q) bv[q] = load_b(b, q);
    const size_t a_offset = p * g.a_col_stride;
    for (size_t r = 0; r < kRows; ++r) {
      const VF av = hn::Set(d, a_rows[r][a_offset]);
      for (size_t q = 0; q < kVecs; ++q) acc[r][q] = hn::MulAdd(av, bv[q], acc[r][q]);
    }
  }

  for (size_t r = 0; r < kRows; ++r) {
    const size_t offset = (i0 + r) * g.ldc + j0;
    const float* mask = g.mask ? g.mask + (i0 + r) * g.ldmask + j0 : nullptr;
    for (size_t q = 0; q < kVecs; ++q) {
      VF v = acc[r][q];
      if (g.relu) v = hn::Max(v, hn::Zero(d));
      if (mask) v = hn::IfThenElseZero(hn::Gt(load_b(mask, q), hn::Zero(d)), v);
      const bool partial = kPartial && q == kVecs - 1;
      const size_t at = offset + q * N;
      if (g.adam) {  // v is a gradient tile: update the parameters while it is in registers
        VF p = partial ? LoadMasked(last_mask, d, g.adam->param + at) : hn::LoadU(d, g.adam->param + at);
        VF m = partial ? LoadMasked(last_mask, d, g.adam->m + at) : hn::LoadU(d, g.adam->m + at);
        VF s = partial ? LoadMasked(last_mask, d, g.adam->v + at) : hn::LoadU(d, g.adam->v + at);
        AdamVector(d, v, p, m, s, g.adam->args);
        if (partial) {
          hn::BlendedStore(p, last_mask, d, g.adam->param + at);
          hn::BlendedStore(m, last_mask, d, g.adam->m + at);
          hn::BlendedStore(s, last_mask, d, g.adam->v + at);
        } else {
          hn::StoreU(p, d, g.adam->param + at);
          hn::StoreU(m, d, g.adam->m + at);
          hn::StoreU(s, d, g.adam->v + at);
        }
      } else if (partial) {
        hn::BlendedStore(v, last_mask, d, g.c + at);
      } else {
        hn::StoreU(v, d, g.c + at);
      }
    }
  }
}

// Picks the instantiation for a tile of `rows` rows and `cols` columns (both > 0).
template <size_t kRows>
void GemmTileCols(const GemmArgs& g, size_t i0, size_t j0, size_t cols, size_t N) {
  const size_t vecs = (cols + N - 1) / N;
  const size_t last = cols - (vecs - 1) * N;
  const bool partial = last != N;
  static_assert(kTileVecs >= 1 && kTileVecs <= 4);
  switch (vecs) {
#define MLPBENCH_TILE_CASE(V)                                                         \
  case V:                                                                             \
    if constexpr (V <= kTileVecs) {                                                   \
      return partial ? MicroTile<kRows, V, true>(g, i0, j0, last)                      \
                     : MicroTile<kRows, V, false>(g, i0, j0, last);                    \
    }                                                                                 \
    break;
    MLPBENCH_TILE_CASE(1)
    MLPBENCH_TILE_CASE(2)
    MLPBENCH_TILE_CASE(3)
    MLPBENCH_TILE_CASE(4)
#undef MLPBENCH_TILE_CASE
  }
}

template <size_t kRows = kTileRows>
void GemmTileRows(const GemmArgs& g, size_t rows, size_t i0, size_t j0, size_t cols, size_t N) {
  if constexpr (kRows >= 1) {
    if (rows == kRows) return GemmTileCols<kRows>(g, i0, j0, cols, N);
    if constexpr (kRows > 1) return GemmTileRows<kRows - 1>(g, rows, i0, j0, cols, N);
  }
}

// Tiles are numbered strip by strip (a strip = kTileVecs vectors of columns, all rows), and
// each part takes a contiguous range, so a thread keeps its columns of B in its own cache.
void Gemm(const GemmArgs& g, Part part) {
  if (g.m == 0 || g.n == 0) return;
  const size_t N = hn::Lanes(DF());
  const size_t strip_cols = kTileVecs * N;
  const size_t row_tiles = (g.m + kTileRows - 1) / kTileRows;
  const size_t strips = (g.n + strip_cols - 1) / strip_cols;
  const size_t tiles = row_tiles * strips;
  for (size_t t = part.begin(tiles); t < part.end(tiles); ++t) {
    const size_t i0 = (t % row_tiles) * kTileRows, j0 = (t / row_tiles) * strip_cols;
    GemmTileRows(g, std::min(kTileRows, g.m - i0), i0, j0, std::min(strip_cols, g.n - j0), N);
  }
}

GemmTile GemmTileShape() { return {kTileRows, kTileVecs * hn::Lanes(DF())}; }

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // MLPBENCH_GEMM_INL_H_
