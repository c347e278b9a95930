// The compiled Highway targets: which exist, which this CPU supports, which one is active, and
// selecting one. Each kernel family (kernels/*.cc) exports and dispatches its own functions.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace mlpbench::kernels::HWY_NAMESPACE {
int64_t CurrentTarget() { return HWY_TARGET; }
}  // namespace mlpbench::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <cctype>
#include <cmath>

#include "hwy/targets.h"
#include "mlpbench/kernels.h"
#include "mlpbench/tensor.h"

namespace mlpbench::kernels {

HWY_EXPORT(CurrentTarget);

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

bool active_target_fuses_multiply_add() {
  // (1 + 2^-12)^2 - (1 + 2^-11) is 2^-24 exactly, and 0 once the product is rounded to float.
  FloatBuffer a(1), b(1), bias(1), c(1);
  a[0] = b[0] = 1.0f + std::ldexp(1.0f, -12);
  bias[0] = -(1.0f + std::ldexp(1.0f, -11));
  GemmArgs g;
  g.m = g.n = g.k = 1;
  g.a = a.data(), g.a_row_stride = 1, g.a_col_stride = 1;
  g.b = b.data(), g.ldb = 1;
  g.c = c.data(), g.ldc = 1;
  g.bias = bias.data();
  gemm(g, {});
  return c[0] != 0.0f;
}

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
