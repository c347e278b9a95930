// Optimizer updates: one fused pass over parameters, gradients and state.
// Compiled once per Highway target (foreach_target.h re-includes this file); the per-target
// functions are exported and dispatched below, as in Highway's skeleton.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/optimizer.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "kernels/load-inl.h"
#include "kernels/optimizer-inl.h"
#include "mlpbench/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void Adam(float* param, const float* grad, float* m, float* v, size_t n, const AdamArgs& a,
          Part part) {
  ForEachVector(n, part, [&](auto d, size_t i, auto mask, bool full) HWY_ATTR {
    AdamAt(d, LoadMasked(mask, d, grad + i), param, m, v, i, mask, full, a);
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

#if HWY_ONCE
namespace mlpbench::kernels {

HWY_EXPORT(Adam);
HWY_EXPORT(Sgd);

void adam(float* param, const float* grad, float* m, float* v, size_t n, const AdamArgs& args,
          Part part) {
  HWY_DYNAMIC_DISPATCH(Adam)(param, grad, m, v, n, args, part);
}

void sgd(float* param, const float* grad, float* velocity, size_t n, const SgdArgs& args,
         Part part) {
  HWY_DYNAMIC_DISPATCH(Sgd)(param, grad, velocity, n, args, part);
}

}  // namespace mlpbench::kernels
#endif  // HWY_ONCE
