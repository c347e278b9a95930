// The GEMM's tiles of 3 and 4 rows, per Highway target (see gemm-inl.h).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/gemm_rows_3_4.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "kernels/gemm-inl.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {

void GemmTileRows3And4(const GemmArgs& g, size_t rows, const TileAt& at, size_t cols, size_t N) {
  GemmTileRowsIn<3, 4>(g, rows, at, cols, N);
}

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();
