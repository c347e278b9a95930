// GEMM with fused bias / ReLU / ReLU' / Adam epilogues, per Highway target: the tiling loop
// and the dispatch (the tiles are in gemm-inl.h).
// Compiled once per Highway target (foreach_target.h re-includes this file); the per-target
// functions are exported and dispatched below, as in Highway's skeleton.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/gemm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>

#include "hwy/highway.h"
#include "kernels/gemm-inl.h"
#include "mlpbench/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Tiles are numbered strip by strip when there are at least as many column strips as parts (or
// more strips than row tiles), by rows otherwise, and each part takes a contiguous range. So a
// layer's forward GEMM (few rows) and its weight-gradient GEMM (many rows) give each thread
// the same strips, i.e. the same panels of the weights: with Adam fused, every thread updates
// exactly the contiguous block of weights it read in the forward pass, and walks it in order.
// A tall GEMM with fewer strips than parts splits C by rows.
void Gemm(const GemmArgs& g, Part part) {
  if (g.m == 0 || g.n == 0) return;
  const size_t N = hn::Lanes(DF());
  const size_t strip_cols = kTileVecs * N;
  const size_t row_tiles = (g.m + kTileRows - 1) / kTileRows;
  const size_t strips = (g.n + strip_cols - 1) / strip_cols;
  const size_t tiles = row_tiles * strips;
  const bool by_rows = row_tiles > strips && strips < static_cast<size_t>(part.count);
  const bool register_b = UsesRegisterB(g);
  const size_t last = part.end(tiles);
  for (size_t t = part.begin(tiles); t < last; ++t) {
    const size_t row_tile = by_rows ? t / strips : t % row_tiles;
    const size_t strip = by_rows ? t % strips : t / row_tiles;
    const size_t i0 = row_tile * kTileRows, j0 = strip * strip_cols;
    const size_t rows = std::min(kTileRows, g.m - i0);
    const TileAt at = Locate(g, i0, j0);
    const size_t cols = std::min(strip_cols, g.n - j0);
    if (register_b && cols == strip_cols) {
      // This part's following tiles of the same strip, numbered strip by strip, in one go.
      size_t run_end = t + 1;
      if (!by_rows) run_end = std::min(last, (strip + 1) * row_tiles);
      RegisterBStripK(g, at, std::min(g.m, (row_tile + (run_end - t)) * kTileRows));
      t = run_end - 1;
    } else if (rows == kTileRows) {  // every tile but a GEMM's last row of tiles: inline, no call
      GemmTileCols<kTileRows>(g, at, cols, N);
    } else if (rows <= 2) {
      GemmTileRows1And2(g, rows, at, cols, N);
    } else if (rows <= 4) {
      GemmTileRows3And4(g, rows, at, cols, N);
    } else if (rows <= 6) {
      GemmTileRows5And6(g, rows, at, cols, N);
    } else {
      GemmTileRows7And8(g, rows, at, cols, N);
    }
  }
}

GemmTile GemmTileShape() { return {kTileRows, kTileVecs * hn::Lanes(DF())}; }

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlpbench::kernels {

HWY_EXPORT(Gemm);
HWY_EXPORT(GemmTileShape);

void gemm(const GemmArgs& args, Part part) { HWY_DYNAMIC_DISPATCH(Gemm)(args, part); }

GemmTile gemm_tile() { return HWY_DYNAMIC_DISPATCH(GemmTileShape)(); }

}  // namespace mlpbench::kernels
#endif  // HWY_ONCE
