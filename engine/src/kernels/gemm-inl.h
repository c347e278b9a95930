// The GEMM's register tiles, per Highway target: shared by gemm.cc (the tiling loop and the
// dispatch) and gemm_rows_*.cc (the tile instantiations, by row count).
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

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Register tile: kTileRows x kTileVecs vectors of accumulators, built from broadcast-FMA outer
// products (one broadcast of A per row, one load of B per vector, kTileRows*kTileVecs FMAs per
// step of k). To hide FMA latency the tile needs >= latency (4) x FMA ports (2) = 8 independent
// accumulators; registers bound it from above: accumulators + kTileVecs B vectors + 1 broadcast.
// Two vectors wide on every target, so that a tile never straddles a weight panel.
// By target order, not name: x86 targets have the lowest bits and better ones lower values, so
// `<= HWY_AVX3` is AVX3 and every later x86 target (AVX3_DL, AVX3_ZEN4, AVX3_SPR, ...), each with
// 32 vector registers.
#if HWY_TARGET <= HWY_AVX3
// 32 zmm registers: 8x2 = 16 accumulators + 2 + 1. 8 rows divide the batch sizes we train with;
// 32 columns are exactly one panel.
inline constexpr size_t kTileRows = 8;
#else
// 16 registers (AVX2, SSE4, ...): 6x2 = 12 accumulators + 2 + 1 = 15.
inline constexpr size_t kTileRows = 6;
#endif
inline constexpr size_t kTileVecs = 2;
inline constexpr bool kOneRowPointer = HWY_TARGET <= HWY_AVX3;
static_assert(kPanelCols % (kTileVecs * hn::MaxLanes(DF())) == 0,
              "a GEMM tile must divide a weight panel");

// The accumulator array must be fully unrolled to live in registers: where GCC leaves a loop
// over it rolled, it keeps the whole array in memory and stores it on every step of k.
#ifndef MLPBENCH_UNROLL
#define MLPBENCH_UNROLL _Pragma("GCC unroll 32")
#endif

// Where the tile at C(i0, j0) reads B and writes C: B from row 0 at column j0 with its row
// stride, and the offset and row stride of C (and of the fused parameters, laid out like C).
// Row-major and panelled operands alike; a tile lies within one panel.
struct TileAt {
  size_t i0, j0;
  const float* b;
  size_t ldb;
  size_t c, ldc;
};

HWY_INLINE TileAt Locate(const GemmArgs& g, size_t i0, size_t j0) {
  const size_t panel_width = std::min(kPanelCols, g.n - j0 / kPanelCols * kPanelCols);
  TileAt at{i0, j0, g.b + j0, g.ldb, i0 * g.ldc + j0, g.ldc};
  if (g.b_panels) at.b = g.b + panel_index(0, j0, g.k, g.n), at.ldb = panel_width;
  if (g.c_panels) at.c = panel_index(i0, j0, g.m, g.n), at.ldc = panel_width;
  return at;
}

// acc[r][q] += A(i0 + r, p) * B(p, vector q of the tile) for p = p0, ..., p1 - 1 in order: the
// whole k, or one shard of it; load_a(r, p) broadcasts A(i0 + r, p). Forced inline, so that acc
// stays in registers.
template <size_t kRows, size_t kVecs, class LoadA, class LoadB>
HWY_INLINE void AccumulateK(const TileAt& at, size_t p0, size_t p1, const LoadA& load_a,
                            const LoadB& load_b, VF (&acc)[kRows][kVecs]) {
  const float* b = at.b + p0 * at.ldb;
  for (size_t p = p0; p < p1; ++p, b += at.ldb) {
    VF bv[kVecs];
    MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) bv[q] = load_b(b, q);
    MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) {
      const VF av = load_a(r, p);
      MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) acc[r][q] = hn::MulAdd(av, bv[q], acc[r][q]);
    }
  }
}

// The whole k into acc (which holds its starting values), or shard by shard. Shards in order;
// a finished shard's tile is pushed on a stack (in L1), and when shard s completes a block of
// 2^t shards (t = trailing zero bits of s + 1) the stack's top t entries are folded in, top
// first, each as the left operand: the pairwise tree.
template <size_t kRows, size_t kVecs, class LoadA, class LoadB>
HWY_INLINE void AccumulateTile(const GemmArgs& g, const TileAt& at, const LoadA& load_a,
                               const LoadB& load_b, VF (&acc)[kRows][kVecs]) {
  const DF d;
  const size_t N = hn::Lanes(d);
  if (g.k_shards <= 1) return AccumulateK(at, 0, g.k, load_a, load_b, acc);
  constexpr size_t kTile = kRows * kVecs * hn::MaxLanes(DF());
  constexpr size_t kLevels = 10;  // log2(kMaxKShards)
  HWY_ALIGN float stack[kLevels][kTile];
  size_t depth = 0;
  for (size_t s = 0; s < g.k_shards; ++s) {
    MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) {
      MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) acc[r][q] = hn::Zero(d);
    }
    AccumulateK(at, g.k_bounds[s], g.k_bounds[s + 1], load_a, load_b, acc);
    for (size_t done = s + 1; done % 2 == 0; done /= 2) {
      const float* left = stack[--depth];
      MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) {
        MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) {
          acc[r][q] = hn::Add(hn::Load(d, left + (r * kVecs + q) * N), acc[r][q]);
        }
      }
    }
    if (s + 1 < g.k_shards) {
      float* top = stack[depth++];
      MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) {
        MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) hn::Store(acc[r][q], d, top + (r * kVecs + q) * N);
      }
    }
  }
}

// Adam on a tile of kRows rows of `cols` columns that lie back to back from offset c of the
// fused parameters. Each row is stored whole, in order, at row * cols of an L1 buffer, so every
// row overwrites the unused lanes of the one before it (the last one's spill into the buffer's
// slack); then the kRows * cols gradients are updated as whole vectors.
template <size_t kRows, size_t kVecs>
HWY_INLINE void AdamPackedRows(const FusedAdam& f, size_t c, size_t cols,
                               const VF (&acc)[kRows][kVecs]) {
  const DF d;
  const size_t N = hn::Lanes(d);
  HWY_ALIGN float packed[(kRows + 1) * kVecs * hn::MaxLanes(DF())];
  MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) {
    MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) {
      hn::StoreU(acc[r][q], d, packed + r * cols + q * N);
    }
  }
  const size_t n = kRows * cols;
  for (size_t i = 0; i < n; i += N) {
    const auto mask = hn::FirstN(d, n - i);
    const bool full = i + N <= n;
    const VF grad = full ? hn::Load(d, packed + i) : LoadMasked(mask, d, packed + i);
    AdamAt(d, grad, f.param + c, f.m + c, f.v + c, i, mask, full, f.args);
  }
}

// One register tile of C: rows [i0, i0 + kRows), vectors [j0, j0 + kVecs * lanes), the last
// vector holding only `last_cols` valid columns when kPartial.
template <size_t kRows, size_t kVecs, bool kPartial>
HWY_NOINLINE void MicroTile(const GemmArgs& g, const TileAt& at, size_t last_cols) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const auto last_mask = hn::FirstN(d, kPartial ? last_cols : N);
  auto load_b = [&](const float* p, size_t q) HWY_ATTR {
    if (kPartial && q == kVecs - 1) return LoadMasked(last_mask, d, p + q * N);
    return hn::LoadU(d, p + q * N);
  };

  VF acc[kRows][kVecs];
  MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) {
    const VF init = g.bias ? load_b(g.bias + at.j0, q) : hn::Zero(d);
    MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) acc[r][q] = init;
  }

  // A's rows adjacent (the weight gradient's x^T): on AVX3, one pointer, the tile's rows at
  // immediate offsets from it. Eight row pointers instead cost the weight gradient 5-7 % at one
  // shard and 12-14 % at four; on AVX2 (6-row tiles in 16 registers) one pointer is 3-8 % slower
  // at one shard, and up to 30 % in some processes (bench/PERF.md #32). Other GEMMs keep a
  // pointer per row.
  if (kOneRowPointer && g.a_row_stride == 1) {
    const float* a0 = g.a + at.i0;
    const size_t lda = g.a_col_stride;
    auto load_a = [&](size_t r, size_t p) HWY_ATTR { return hn::Set(d, a0[p * lda + r]); };
    AccumulateTile(g, at, load_a, load_b, acc);
  } else {
    const float* a_rows[kRows];
    MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) a_rows[r] = g.a + (at.i0 + r) * g.a_row_stride;
    const size_t lda = g.a_col_stride;
    auto load_a = [&](size_t r, size_t p) HWY_ATTR { return hn::Set(d, a_rows[r][p * lda]); };
    AccumulateTile(g, at, load_a, load_b, acc);
  }

  // A narrow tile whose rows lie back to back in C (a layer of fewer columns than a vector,
  // e.g. 10 outputs: rows 40 bytes apart) gets Adam after its rows are packed into whole
  // vectors in L1. Row by row, every row's Adam would be masked loads of W, m and v overlapping
  // the previous row's masked stores, which wait for those stores to retire, and would use a
  // divide and a square root for 10 of 16 lanes. Adam is elementwise: bitwise the same numbers.
  if constexpr (kPartial) {
    const size_t cols = (kVecs - 1) * N + last_cols;
    if (g.adam && at.ldc == cols && !g.relu && !g.mask) {
      return AdamPackedRows<kRows, kVecs>(*g.adam, at.c, cols, acc);
    }
  }

  MLPBENCH_UNROLL for (size_t r = 0; r < kRows; ++r) {
    const size_t row = at.c + r * at.ldc;
    const float* mask = g.mask ? g.mask + (at.i0 + r) * g.ldmask + at.j0 : nullptr;
    MLPBENCH_UNROLL for (size_t q = 0; q < kVecs; ++q) {
      VF v = acc[r][q];
      if (g.relu) v = hn::Max(v, hn::Zero(d));
      if (mask) v = hn::IfThenElseZero(hn::Gt(load_b(mask, q), hn::Zero(d)), v);
      const bool partial = kPartial && q == kVecs - 1;
      const size_t offset = row + q * N;
      if (g.adam) {  // the gradient goes no further than this register
        const FusedAdam& f = *g.adam;
        AdamAt(d, v, f.param, f.m, f.v, offset, last_mask, !partial, f.args);
      } else if (partial) {
        hn::BlendedStore(v, last_mask, d, g.c + offset);
      } else {
        hn::StoreU(v, d, g.c + offset);
      }
    }
  }
}

// GEMMs with a short k (an input gradient dX = dY W^T against a 10-class output layer: k = 10)
// spend more on a register tile's set-up and write-out than on its k steps. When k is at most
// kMaxRegisterK, a whole strip of kTileVecs full vectors is computed instead with the strip's
// k x kTileVecs vectors of B held in registers and A's rows streamed through them one at a
// time: k broadcasts and k x kTileVecs FMAs a row, in the same order as a tile (the same
// numbers). Registers: k x kTileVecs + kTileVecs accumulators + 1 broadcast.
#if HWY_TARGET <= HWY_AVX3
inline constexpr size_t kMaxRegisterK = 12;  // 24 + 2 + 1 of 32
#else
inline constexpr size_t kMaxRegisterK = 6;  // 12 + 2 + 1 of 16
#endif

// C's rows [at.i0, i_end) of the full strip at column at.j0, for k = kK.
template <size_t kK>
HWY_NOINLINE void RegisterBStrip(const GemmArgs& g, const TileAt& at, size_t i_end) {
  const DF d;
  const size_t N = hn::Lanes(d);
  VF b[kK][kTileVecs];
  MLPBENCH_UNROLL for (size_t p = 0; p < kK; ++p) {
    MLPBENCH_UNROLL for (size_t q = 0; q < kTileVecs; ++q) {
      b[p][q] = hn::LoadU(d, at.b + p * at.ldb + q * N);
    }
  }
  VF init[kTileVecs];
  MLPBENCH_UNROLL for (size_t q = 0; q < kTileVecs; ++q) {
    init[q] = g.bias ? hn::LoadU(d, g.bias + at.j0 + q * N) : hn::Zero(d);
  }
  for (size_t i = at.i0; i < i_end; ++i) {
    const float* a = g.a + i * g.a_row_stride;
    VF acc[kTileVecs];
    MLPBENCH_UNROLL for (size_t q = 0; q < kTileVecs; ++q) acc[q] = init[q];
    MLPBENCH_UNROLL for (size_t p = 0; p < kK; ++p) {
      const VF av = hn::Set(d, a[p * g.a_col_stride]);
      MLPBENCH_UNROLL for (size_t q = 0; q < kTileVecs; ++q) {
        acc[q] = hn::MulAdd(av, b[p][q], acc[q]);
      }
    }
    float* c = g.c + at.c + (i - at.i0) * at.ldc;
    const float* mask = g.mask ? g.mask + i * g.ldmask + at.j0 : nullptr;
    MLPBENCH_UNROLL for (size_t q = 0; q < kTileVecs; ++q) {
      VF v = acc[q];
      if (g.relu) v = hn::Max(v, hn::Zero(d));
      if (mask) v = hn::IfThenElseZero(hn::Gt(hn::LoadU(d, mask + q * N), hn::Zero(d)), v);
      hn::StoreU(v, d, c + q * N);
    }
  }
}

// Whether RegisterBStrip computes this GEMM's full strips (the fused optimizer and k shards keep
// the tiles).
HWY_INLINE bool UsesRegisterB(const GemmArgs& g) {
  return g.k > 0 && g.k <= kMaxRegisterK && !g.adam && g.k_shards <= 1;
}

// RegisterBStrip for this GEMM's k (UsesRegisterB).
HWY_INLINE void RegisterBStripK(const GemmArgs& g, const TileAt& at, size_t i_end) {
  switch (g.k) {
#define MLPBENCH_REGISTER_K(K)                                                  \
  case K:                                                                       \
    if constexpr (K <= kMaxRegisterK) return RegisterBStrip<K>(g, at, i_end);  \
    break;
    MLPBENCH_REGISTER_K(1)
    MLPBENCH_REGISTER_K(2)
    MLPBENCH_REGISTER_K(3)
    MLPBENCH_REGISTER_K(4)
    MLPBENCH_REGISTER_K(5)
    MLPBENCH_REGISTER_K(6)
    MLPBENCH_REGISTER_K(7)
    MLPBENCH_REGISTER_K(8)
    MLPBENCH_REGISTER_K(9)
    MLPBENCH_REGISTER_K(10)
    MLPBENCH_REGISTER_K(11)
    MLPBENCH_REGISTER_K(12)
#undef MLPBENCH_REGISTER_K
  }
}
static_assert(kMaxRegisterK <= 12, "RegisterBStripK instantiates k = 1..12");

// Picks the instantiation for a tile of `rows` rows and `cols` columns (both > 0).
template <size_t kRows>
void GemmTileCols(const GemmArgs& g, const TileAt& at, size_t cols, size_t N) {
  const size_t vecs = (cols + N - 1) / N;
  const size_t last = cols - (vecs - 1) * N;
  const bool partial = last != N;
  static_assert(kTileVecs >= 1 && kTileVecs <= 4);
  switch (vecs) {
#define MLPBENCH_TILE_CASE(V)                                                         \
  case V:                                                                             \
    if constexpr (V <= kTileVecs) {                                                   \
      return partial ? MicroTile<kRows, V, true>(g, at, last)                          \
                     : MicroTile<kRows, V, false>(g, at, last);                        \
    }                                                                                 \
    break;
    MLPBENCH_TILE_CASE(1)
    MLPBENCH_TILE_CASE(2)
    MLPBENCH_TILE_CASE(3)
    MLPBENCH_TILE_CASE(4)
#undef MLPBENCH_TILE_CASE
  }
}

// Tiles of kLo..kHi rows, fewer than the target's full tile height (gemm.cc runs the full
// tiles itself, inline: they are nearly all of them): the instantiations are split by row count
// across gemm_rows_*.cc, so that the build compiles them in parallel.
template <size_t kLo, size_t kHi>
HWY_INLINE void GemmTileRowsIn(const GemmArgs& g, size_t rows, const TileAt& at, size_t cols,
                               size_t N) {
  if constexpr (kLo <= kHi && kLo < kTileRows) {
    if (rows == kLo) return GemmTileCols<kLo>(g, at, cols, N);
    return GemmTileRowsIn<kLo + 1, kHi>(g, rows, at, cols, N);
  }
}

// One tile of `rows` rows (fewer than kTileRows), defined in gemm_rows_<lo>_<hi>.cc. Under the
// sanitizers, one file with all of them was the longest compile of the build by minutes.
void GemmTileRows1And2(const GemmArgs& g, size_t rows, const TileAt& at, size_t cols, size_t N);
void GemmTileRows3And4(const GemmArgs& g, size_t rows, const TileAt& at, size_t cols, size_t N);
void GemmTileRows5And6(const GemmArgs& g, size_t rows, const TileAt& at, size_t cols, size_t N);
void GemmTileRows7And8(const GemmArgs& g, size_t rows, const TileAt& at, size_t cols, size_t N);
static_assert(kTileRows <= 8, "gemm_rows_*.cc cover tiles of up to 8 rows");

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // MLPBENCH_GEMM_INL_H_
