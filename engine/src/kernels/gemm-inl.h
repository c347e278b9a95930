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
#include "mlpbench/tensor.h"

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

// The accumulator array must be fully unrolled to live in registers: where GCC leaves a loop
// over it rolled, it keeps the whole array in memory and stores it on every step of k.
#ifndef MLPBENCH_UNROLL
#define MLPBENCH_UNROLL _Pragma("GCC unroll 32")
#endif
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
  MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) {
    const VF init = g.bias ? load_b(g.bias + j0, q) : hn::Zero(d);
    MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) acc[r][q] = init;
  }

  const float* a_rows[kRows];
  MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) a_rows[r] = g.a + (i0 + r) * g.a_row_stride;
  const float* b = g.b + j0;
  for (size_t p = 0; p < g.k; ++p, b += g.ldb) {
    VF bv[kVecs];
    MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) bv[q] = load_b(b, q);
    const size_t a_offset = p * g.a_col_stride;
    MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) {
      const VF av = hn::Set(d, a_rows[r][a_offset]);
      MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) acc[r][q] = hn::MulAdd(av, bv[q], acc[r][q]);
    }
  }

  MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) {
    const size_t offset = (i0 + r) * g.ldc + j0;
    const float* mask = g.mask ? g.mask + (i0 + r) * g.ldmask + j0 : nullptr;
    MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) {
      VF v = acc[r][q];
      if (g.relu) v = hn::Max(v, hn::Zero(d));
      if (mask) v = hn::IfThenElseZero(hn::Gt(load_b(mask, q), hn::Zero(d)), v);
      const bool partial = kPartial && q == kVecs - 1;
      const size_t at = offset + q * N;
      if (partial) {        hn::BlendedStore(v, last_mask, d, g.c + at);
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

// Tiles are numbered strip by strip when there are at least as many column strips as parts (or
// more strips than row tiles), by rows otherwise, and each part takes a contiguous range: a
// forward GEMM (few rows) splits B's columns between threads, each reading only its strips of
// the weights, and a tall weight-gradient GEMM with few strips splits C by rows.
void GemmTiles(const GemmArgs& g, Part part) {
  if (g.m == 0 || g.n == 0) return;
  const size_t N = hn::Lanes(DF());
  const size_t strip_cols = kTileVecs * N;
  const size_t row_tiles = (g.m + kTileRows - 1) / kTileRows;
  const size_t strips = (g.n + strip_cols - 1) / strip_cols;
  const size_t tiles = row_tiles * strips;
  const bool by_rows = row_tiles > strips && strips < static_cast<size_t>(part.count);
  for (size_t t = part.begin(tiles); t < part.end(tiles); ++t) {
    const size_t row_tile = by_rows ? t / strips : t % row_tiles;
    const size_t strip = by_rows ? t % strips : t / row_tiles;
    const size_t i0 = row_tile * kTileRows, j0 = strip * strip_cols;
    GemmTileRows(g, std::min(kTileRows, g.m - i0), i0, j0, std::min(strip_cols, g.n - j0), N);
  }
}

// With a fused optimizer, C is produced one band of kTileRows full rows at a time into a small
// per-thread buffer that stays in L1, and Adam then streams through those rows of the
// parameters: the gradient never goes to memory, and the update reads and writes memory
// sequentially (a tile-by-tile update would touch 3 x kTileRows scattered lines per tile).
void GemmFusedAdam(const GemmArgs& g, Part part) {
  const size_t bands = (g.m + kTileRows - 1) / kTileRows;
  thread_local FloatBuffer band;  // grows on first use, then reused: no allocation per step
  if (band.size() < kTileRows * g.n) band.resize(kTileRows * g.n);
  GemmArgs tile = g;
  tile.c = band.data();
  tile.ldc = g.n;
  tile.adam = nullptr;
  for (size_t b = part.begin(bands); b < part.end(bands); ++b) {
    const size_t i0 = b * kTileRows, rows = std::min(kTileRows, g.m - i0);
    tile.m = rows;
    tile.a = g.a + i0 * g.a_row_stride;
    tile.mask = g.mask ? g.mask + i0 * g.ldmask : nullptr;
    GemmTiles(tile, Part{});
    const size_t at = i0 * g.ldc;  // the band's rows are contiguous when ldc == n
    Adam(g.adam->param + at, band.data(), g.adam->m + at, g.adam->v + at, rows * g.n,
         g.adam->args, Part{});
  }
}

void Gemm(const GemmArgs& g, Part part) {
  if (g.adam) return GemmFusedAdam(g, part);
  GemmTiles(g, part);
}

GemmTile GemmTileShape() { return {kTileRows, kTileVecs * hn::Lanes(DF())}; }

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // MLPBENCH_GEMM_INL_H_
