// Optimizer updates: one fused pass over parameters, gradients and state.
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

void Adam(float* param, const float* grad, float* m, float* v, size_t n, const AdamArgs& a,
          Part part) {
  ForEachVector(n, part, [&](auto d, size_t i, auto mask, bool full) HWY_ATTR {
    const auto b1 = hn::Set(d, a.beta_1), c1 = hn::Set(d, 1.0f - a.beta_1);
    const auto b2 = hn::Set(d, a.beta_2), c2 = hn::Set(d, 1.0f - a.beta_2);
    const auto g = LoadMasked(mask, d, grad + i);
    const auto mi = hn::MulAdd(b1, LoadMasked(mask, d, m + i), hn::Mul(c1, g));
    const auto vi = hn::MulAdd(b2, LoadMasked(mask, d, v + i), hn::Mul(c2, hn::Mul(g, g)));
    const auto step = hn::Div(hn::Mul(hn::Set(d, a.alpha), mi),
                              hn::Add(hn::Sqrt(vi), hn::Set(d, a.epsilon)));
    const auto p = hn::Sub(LoadMasked(mask, d, param + i), step);
    if (full) {
      hn::StoreU(mi, d, m + i);
      hn::StoreU(vi, d, v + i);
      hn::StoreU(p, d, param + i);
    } else {
      hn::BlendedStore(mi, mask, d, m + i);
      hn::BlendedStore(vi, mask, d, v + i);
      hn::BlendedStore(p, mask, d, param + i);
    }
  });
}

void Sgd(float* param, const float* grad, float* velocity, size_t n, const SgdArgs& a,
         Part part) {
  ForEachVector(n, part, [&](auto d, size_t i, auto mask, bool) HWY_ATTR {
    const auto lr = hn::Set(d, a.learning_rate), mom = hn::Set(d, a.momentum);
    const auto g = LoadMasked(mask, d, grad + i);
    auto p = LoadMasked(mask, d, param + i);
    if (a.momentum == 0.0f) {
      p = hn::Sub(p, hn::Mul(lr, g));
    } else {
      const auto vel = hn::Sub(hn::Mul(mom, LoadMasked(mask, d, velocity + i)), hn::Mul(lr, g));
      hn::BlendedStore(vel, mask, d, velocity + i);
      p = a.nesterov ? hn::Add(p, hn::Sub(hn::Mul(mom, vel), hn::Mul(lr, g))) : hn::Add(p, vel);
    }
    hn::BlendedStore(p, mask, d, param + i);
  });
}

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // MLPBENCH_OPTIMIZER_INL_H_
