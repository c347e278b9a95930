// Partial-vector loads shared by the kernels.
#if defined(MLPBENCH_LOAD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLPBENCH_LOAD_INL_H_
#undef MLPBENCH_LOAD_INL_H_
#else
#define MLPBENCH_LOAD_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The lanes of `m` from p, zero elsewhere. Highway 1.0.3's MaskedLoad needs an aligned p below
// AVX2, so there the whole vector is loaded unaligned and masked: every buffer of ours is padded
// by a cache line past its end (tensor.h), so the extra lanes are readable.
template <class D, class M>
HWY_INLINE hn::Vec<D> LoadMasked(M m, D d, const hn::TFromD<D>* p) {
#if HWY_TARGET <= HWY_AVX2  // AVX2 and every better x86 target (see gemm.cc)
  return hn::MaskedLoad(m, d, p);
#else
  return hn::IfThenElseZero(m, hn::LoadU(d, p));
#endif
}

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // MLPBENCH_LOAD_INL_H_
