// Runtime dispatch over the compiled Highway targets: each public kernel dispatches once.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "kernels/elementwise-inl.h"
#include "kernels/gemm-inl.h"
#include "kernels/optimizer-inl.h"
#include "kernels/peak-inl.h"
#include "kernels/pixels-inl.h"
#include "kernels/softmax_xent-inl.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {
int64_t CurrentTarget() { return HWY_TARGET; }
}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <cctype>

#include "hwy/targets.h"

namespace mlpbench::kernels {

HWY_EXPORT(Gemm);
HWY_EXPORT(GemmTileShape);
HWY_EXPORT(SoftmaxXent);
HWY_EXPORT(ColumnSums);
HWY_EXPORT(Transpose);
HWY_EXPORT(AnyNonFinite);
HWY_EXPORT(Adam);
HWY_EXPORT(Sgd);
HWY_EXPORT(FmaPeakLoop);
HWY_EXPORT(GatherPixels);
HWY_EXPORT(CurrentTarget);

void gemm(const GemmArgs& args, Part part) { HWY_DYNAMIC_DISPATCH(Gemm)(args, part); }

void softmax_xent(const float* logits, size_t rows, size_t classes, size_t ld,
                  const uint8_t* labels, float grad_scale, float* grad, float* loss,
                  int32_t* predicted, Part part) {
  HWY_DYNAMIC_DISPATCH(SoftmaxXent)(logits, rows, classes, ld, labels, grad_scale, grad, loss,
                                    predicted, part);
}

void column_sums(const float* x, size_t rows, size_t cols, size_t ld, float* out, Part part) {
  HWY_DYNAMIC_DISPATCH(ColumnSums)(x, rows, cols, ld, out, part);
}

void transpose(const float* in, size_t rows, size_t cols, float* out, Part part) {
  HWY_DYNAMIC_DISPATCH(Transpose)(in, rows, cols, out, part);
}

void adam(float* param, const float* grad, float* m, float* v, size_t n, const AdamArgs& args,
          Part part) {
  HWY_DYNAMIC_DISPATCH(Adam)(param, grad, m, v, n, args, part);
}

void sgd(float* param, const float* grad, float* velocity, size_t n, const SgdArgs& args,
         Part part) {
  HWY_DYNAMIC_DISPATCH(Sgd)(param, grad, velocity, n, args, part);
}

void gather_pixels(const uint8_t* pixels, size_t features, const uint32_t* indices, size_t rows,
                   float* out, Part part, bool streaming) {
  HWY_DYNAMIC_DISPATCH(GatherPixels)(pixels, features, indices, rows, out, part, streaming);
}

bool any_non_finite(const float* x, size_t n) { return HWY_DYNAMIC_DISPATCH(AnyNonFinite)(x, n); }

double fma_peak_loop(size_t iterations) { return HWY_DYNAMIC_DISPATCH(FmaPeakLoop)(iterations); }

GemmTile gemm_tile() { return HWY_DYNAMIC_DISPATCH(GemmTileShape)(); }

namespace {

std::vector<int64_t> targets_in(int64_t mask) {
  std::vector<int64_t> out;
  for (int64_t rest = mask; rest != 0; rest &= rest - 1) out.push_back(rest & -rest);
  return out;  // lowest bit first: the best target first
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

int64_t real_supported_targets() {
  // SetSupportedTargetsForTest may be in effect; the CPU's truth is read with it cleared.
  static const int64_t supported = [] {
    hwy::SetSupportedTargetsForTest(0);
    return hwy::SupportedTargets();
  }();
  return supported;
}

}  // namespace

std::vector<std::string> compiled_targets() {
  std::vector<std::string> names;
  for (int64_t t : targets_in(HWY_TARGETS)) names.push_back(hwy::TargetName(t));
  return names;
}

std::vector<std::string> supported_targets() {
  std::vector<std::string> names;
  for (int64_t t : targets_in(HWY_TARGETS & real_supported_targets())) {
    names.push_back(hwy::TargetName(t));
  }
  return names;
}

std::string active_target() { return hwy::TargetName(HWY_DYNAMIC_DISPATCH(CurrentTarget)()); }

bool select_simd_target(const std::string& name) {
  const int64_t supported = HWY_TARGETS & real_supported_targets();
  if (name.empty()) {
    hwy::SetSupportedTargetsForTest(0);
    return true;
  }
  for (int64_t t : targets_in(supported)) {
    if (upper(hwy::TargetName(t)) == upper(name)) {
      hwy::SetSupportedTargetsForTest(t);
      return true;
    }
  }
  return false;
}

}  // namespace mlpbench::kernels
#endif  // HWY_ONCE
