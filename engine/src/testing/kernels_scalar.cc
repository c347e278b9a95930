// Scalar twins of the SIMD kernels: the same contracts in plain loops. See kernels.h for which
// match exactly (same order, same fused multiply-adds) and which within a tolerance.
#include <algorithm>
#include <cmath>
#include <vector>

#include "mlpbench/kernels_scalar.h"

namespace mlpbench::scalar {
namespace {

void adam_one(float& p, float g, float& m, float& v, const kernels::AdamArgs& a) {
  m = std::fma(a.beta_1, m, (1.0f - a.beta_1) * g);
  v = std::fma(a.beta_2, v, (1.0f - a.beta_2) * (g * g));
  p -= (a.alpha * m) / (std::sqrt(v) + a.epsilon);
}

}  // namespace

void gemm(const kernels::GemmArgs& g) {
  auto b_at = [&](size_t p, size_t j) {
    return g.b_panels ? kernels::panel_index(p, j, g.k, g.n) : p * g.ldb + j;
  };
  for (size_t i = 0; i < g.m; ++i) {
    for (size_t j = 0; j < g.n; ++j) {
      auto sum = [&](size_t p0, size_t p1, float acc) {
        for (size_t p = p0; p < p1; ++p) {
          acc = std::fma(g.a[i * g.a_row_stride + p * g.a_col_stride], g.b[b_at(p, j)], acc);
        }
        return acc;
      };
      float acc = 0;
      if (g.k_shards > 1) {  // level by level: stride d combines shard s with s + d
        std::vector<float> shard(g.k_shards);
        for (size_t s = 0; s < g.k_shards; ++s) shard[s] = sum(g.k_bounds[s], g.k_bounds[s + 1], 0.0f);
        for (size_t d = 1; d < g.k_shards; d *= 2) {
          for (size_t s = 0; s + d < g.k_shards; s += 2 * d) shard[s] = shard[s] + shard[s + d];
        }
        acc = shard[0];
      } else {
        acc = sum(0, g.k, g.bias ? g.bias[j] : 0.0f);
      }
      if (g.relu) acc = std::max(acc, 0.0f);
      if (g.mask && !(g.mask[i * g.ldmask + j] > 0.0f)) acc = 0.0f;
      const size_t at = g.c_panels ? kernels::panel_index(i, j, g.m, g.n) : i * g.ldc + j;
      if (g.adam) {
        adam_one(g.adam->param[at], acc, g.adam->m[at], g.adam->v[at], g.adam->args);
      } else {
        g.c[at] = acc;
      }
    }
  }
}

void softmax_xent(const float* logits, size_t rows, size_t classes, size_t ld,
                  const uint8_t* labels, float grad_scale, float* grad, float* loss,
                  int32_t* predicted) {
  for (size_t i = 0; i < rows; ++i) {
    const float* z = logits + i * ld;
    const size_t arg = static_cast<size_t>(std::max_element(z, z + classes) - z);
    const float zmax = z[arg];
    float sum = 0;
    for (size_t j = 0; j < classes; ++j) sum += std::exp(z[j] - zmax);
    loss[i] = std::log(sum) - (z[labels[i]] - zmax);
    predicted[i] = static_cast<int32_t>(arg);
    if (grad) {
      for (size_t j = 0; j < classes; ++j) {
        grad[i * ld + j] = std::exp(z[j] - zmax) / sum * grad_scale;
      }
      grad[i * ld + labels[i]] -= grad_scale;
    }
  }
}

void column_sums(const float* x, size_t rows, size_t cols, size_t ld, float* out) {
  for (size_t j = 0; j < cols; ++j) {
    float sum = 0;
    for (size_t i = 0; i < rows; ++i) sum += x[i * ld + j];
    out[j] = sum;
  }
}

void transpose(const float* in, size_t rows, size_t cols, float* out) {
  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < cols; ++j) out[j * rows + i] = in[i * cols + j];
  }
}

void adam(float* param, const float* grad, float* m, float* v, size_t n,
          const kernels::AdamArgs& a) {
  for (size_t i = 0; i < n; ++i) adam_one(param[i], grad[i], m[i], v[i], a);
}

void sgd(float* param, const float* grad, float* velocity, size_t n, const kernels::SgdArgs& a) {
  for (size_t i = 0; i < n; ++i) {
    if (a.momentum == 0.0f) {
      param[i] -= a.learning_rate * grad[i];
      continue;
    }
    velocity[i] = a.momentum * velocity[i] - a.learning_rate * grad[i];
    param[i] += a.nesterov ? a.momentum * velocity[i] - a.learning_rate * grad[i] : velocity[i];
  }
}

void gather_pixels(const uint8_t* pixels, size_t features, const uint32_t* indices, size_t rows,
                   float* out) {
  for (size_t i = 0; i < rows; ++i) {
    for (size_t f = 0; f < features; ++f) {
      out[i * features + f] = static_cast<float>(pixels[indices[i] * features + f]) / 255.0f;
    }
  }
}

}  // namespace mlpbench::scalar
