#pragma once
// The kernels' scalar twins (library mlpbench_scalar_twins, engine/src/testing/kernels_scalar.cc):
// what tests/test_kernels.cc compares every kernel of kernels.h with.
#include <cstddef>
#include <cstdint>

#include "mlpbench/kernels.h"

namespace mlpbench::scalar {
// Plain C++ twins of the kernels above, same contracts, for tests. gemm, column_sums, adam and
// sgd sum in the kernels' order with the same fused multiply-adds (so targets that fuse match
// them exactly); softmax_xent sums a row in lane order and uses std::exp, so it matches within a
// tolerance only.
void gemm(const kernels::GemmArgs& args);
void softmax_xent(const float* logits, size_t rows, size_t classes, size_t ld,
                  const uint8_t* labels, float grad_scale, float* grad, float* loss,
                  int32_t* predicted);
void column_sums(const float* x, size_t rows, size_t cols, size_t ld, float* out);
void transpose(const float* in, size_t rows, size_t cols, float* out);
void adam(float* param, const float* grad, float* m, float* v, size_t n,
          const kernels::AdamArgs& args);
void sgd(float* param, const float* grad, float* velocity, size_t n, const kernels::SgdArgs& args);
void gather_pixels(const uint8_t* pixels, size_t features, const uint32_t* indices, size_t rows,
                   float* out);
}  // namespace mlpbench::scalar
