// Optimizer updates, inline per target: shared by the flat updates (optimizer.cc) and the GEMM
// epilogue that applies Adam in registers (gemm.cc).
#if defined(MLPBENCH_OPTIMIZER_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLPBENCH_OPTIMIZER_INL_H_
#undef MLPBENCH_OPTIMIZER_INL_H_
#else
#define MLPBENCH_OPTIMIZER_INL_H_
#endif

#include "hwy/highway.h"
#include "kernels/load-inl.h"
#include "mlpbench/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Parts split the arrays in whole vectors; the tail is done with masks by the last part.
template <class Update>
HWY_INLINE void ForEachVector(size_t n, Part part, const Update& update) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const size_t vecs = (n + N - 1) / N;
  for (size_t q = part.begin(vecs); q < part.end(vecs); ++q) {
    update(d, q * N, hn::FirstN(d, HWY_MIN(n - q * N, N)), q * N + N <= n);
  }
}

// One vector of Adam, Keras form. Shared by the flat update (optimizer.cc) and the GEMM epilogue
// that applies Adam to a weight-gradient tile in registers, so both compute bitwise the same.
template <class D, class V = hn::Vec<D>>
HWY_INLINE void AdamVector(D d, V g, V& p, V& m, V& v, const AdamArgs& a) {
  m = hn::MulAdd(hn::Set(d, a.beta_1), m, hn::Mul(hn::Set(d, 1.0f - a.beta_1), g));
  v = hn::MulAdd(hn::Set(d, a.beta_2), v, hn::Mul(hn::Set(d, 1.0f - a.beta_2), hn::Mul(g, g)));
  const V step = hn::Div(hn::Mul(hn::Set(d, a.alpha), m), hn::Add(hn::Sqrt(v), hn::Set(d, a.epsilon)));
  p = hn::Sub(p, step);
}

// Adam on the vector of parameters at param[i] (lanes `mask`; `full`: all of them) with
// gradient `g`: loads p, m and v, updates them, stores them back.
template <class D, class M>
HWY_INLINE void AdamAt(D d, hn::Vec<D> g, float* param, float* m, float* v, size_t i, M mask,
                       bool full, const AdamArgs& a) {
  auto load = [&](const float* p) HWY_ATTR {
    return full ? hn::LoadU(d, p + i) : LoadMasked(mask, d, p + i);
  };
  auto store = [&](hn::Vec<D> x, float* p) HWY_ATTR {
    if (full) {
      hn::StoreU(x, d, p + i);
    } else {
      hn::BlendedStore(x, mask, d, p + i);
    }
  };
  auto p = load(param), mi = load(m), vi = load(v);
  AdamVector(d, g, p, mi, vi, a);
  store(mi, m);
  store(vi, v);
  store(p, param);
}

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // MLPBENCH_OPTIMIZER_INL_H_
