// Softmax + cross-entropy + its gradient in one pass over each row of logits.
// Compiled once per Highway target (foreach_target.h re-includes this file); the per-target
// functions are exported and dispatched below, as in Highway's skeleton.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/softmax_xent.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cmath>
#include <limits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/load-inl.h"
#include "mlpbench/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Rows are independent: each is computed by one thread, in one fixed order of lanes.
void SoftmaxXent(const float* logits, size_t rows, size_t classes, size_t ld,
                 const uint8_t* labels, float grad_scale, float* grad, float* loss,
                 int32_t* predicted, Part part) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto neg_inf = hn::Set(d, -std::numeric_limits<float>::infinity());
  for (size_t i = part.begin(rows); i < part.end(rows); ++i) {
    const float* z = logits + i * ld;
    auto vmax = neg_inf;
    for (size_t j = 0; j < classes; j += N) {
      const auto m = hn::FirstN(d, classes - j);
      vmax = hn::Max(vmax, hn::IfThenElse(m, LoadMasked(m, d, z + j), neg_inf));
    }
    const float zmax = hn::GetLane(hn::MaxOfLanes(d, vmax));
    int32_t arg = 0;
    while (z[arg] != zmax && static_cast<size_t>(arg) + 1 < classes) ++arg;

    auto vsum = hn::Zero(d);
    const auto shift = hn::Set(d, zmax);
    for (size_t j = 0; j < classes; j += N) {
      const auto m = hn::FirstN(d, classes - j);
      const auto e = hn::IfThenElseZero(m, hn::Exp(d, hn::Sub(LoadMasked(m, d, z + j), shift)));
      vsum = hn::Add(vsum, e);
      if (grad) hn::BlendedStore(e, m, d, grad + i * ld + j);
    }
    const float sum = hn::GetLane(hn::SumOfLanes(d, vsum));
    const size_t label = labels[i];
    // -log(e^(z_y - max) / sum) = log(sum) - (z_y - max)
    loss[i] = std::log(sum) - (z[label] - zmax);
    predicted[i] = arg;
    if (grad) {
      const auto scale = hn::Set(d, grad_scale / sum);
      for (size_t j = 0; j < classes; j += N) {
        const auto m = hn::FirstN(d, classes - j);
        float* g = grad + i * ld + j;
        hn::BlendedStore(hn::Mul(LoadMasked(m, d, g), scale), m, d, g);
      }
      grad[i * ld + label] -= grad_scale;
    }
  }
}

}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlpbench::kernels {

HWY_EXPORT(SoftmaxXent);

void softmax_xent(const float* logits, size_t rows, size_t classes, size_t ld,
                  const uint8_t* labels, float grad_scale, float* grad, float* loss,
                  int32_t* predicted, Part part) {
  HWY_DYNAMIC_DISPATCH(SoftmaxXent)(logits, rows, classes, ld, labels, grad_scale, grad, loss,
                                    predicted, part);
}

}  // namespace mlpbench::kernels
#endif  // HWY_ONCE
