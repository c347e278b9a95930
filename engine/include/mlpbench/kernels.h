#pragma once
// The dispatch surface: every SIMD kernel of a training step, as free functions on raw pointers.
// Each call dispatches once to the best compiled Highway target (or the one selected with
// select_simd_target) and computes the share `part` of its output. Outputs are split into
// tiles fixed by the shapes alone, so any partition computes bitwise the same numbers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mlpbench::kernels {

// Which share of a kernel's output the calling thread computes.
struct Part {
  int index = 0;
  int count = 1;
  // [begin, end) of `n` items, in contiguous blocks.
  size_t begin(size_t n) const { return n * static_cast<size_t>(index) / count; }
  size_t end(size_t n) const { return n * static_cast<size_t>(index + 1) / count; }
};

// Adam, Keras form: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= alpha * m / (sqrt(v) + eps), alpha = lr sqrt(1-b2^t) / (1-b1^t) precomputed per step.
struct AdamArgs {
  float alpha = 0, beta_1 = 0.9f, beta_2 = 0.999f, epsilon = 1e-7f;
};

// Weight matrices [rows x cols] are stored as column panels: panel s holds columns
// [s * kPanelCols, min(cols, (s + 1) * kPanelCols)) as a row-major [rows x width] block, the
// panels one after another. A matrix of at most kPanelCols columns is plain row-major. Threads
// split a layer's forward GEMM and its weight update by the same panels, so each thread reads
// and writes one contiguous block of the weights and no cache line is shared between cores.
// 32 columns = 128 bytes = two cache lines; every target's GEMM tile width divides it.
inline constexpr size_t kPanelCols = 32;
// Where element (i, j) of a panelled [rows x cols] matrix lives.
inline size_t panel_index(size_t i, size_t j, size_t rows, size_t cols) {
  const size_t j0 = j / kPanelCols * kPanelCols;
  const size_t width = cols - j0 < kPanelCols ? cols - j0 : kPanelCols;
  return j0 * rows + i * width + (j - j0);
}

// Parameters to update with Adam, laid out like a GEMM's C.
struct FusedAdam {
  AdamArgs args;
  float* param = nullptr;
  float* m = nullptr;
  float* v = nullptr;
};

// C[m x n] = op(A)[m x k] . B[k x n] with A(i, p) = a[i * a_row_stride + p * a_col_stride]
// (a_col_stride = 1: A as stored; a_row_stride = 1: A transposed). B and C are row-major with
// leading dimensions ldb and ldc, or, with b_panels / c_panels, in column panels (see
// kPanelCols; the leading dimension is then unused).
// Epilogue, in order: accumulators start at bias[j] (or 0); relu: max(0, c); mask: c is kept
// where mask[i * ldmask + j] > 0 and zeroed elsewhere (ReLU' of the forward activations);
// then C is stored, or, with `adam`, C is taken as the gradient of adam->param and Adam is
// applied to it while it is in registers (C itself is never written).
// Every element is summed over p = 0..k-1 in order, whatever the tile or thread.
// With k_shards > 1, k is cut into shards [k_bounds[s], k_bounds[s + 1]) (k_bounds[0] = 0,
// k_bounds[k_shards] = k; a shard may be empty): each shard is summed over its p in order from
// zero, and the shards' sums are combined by the pairwise tree ((s0 + s1) + (s2 + s3)) ... (the
// lower shard always the left operand; k_shards a power of two, at most kMaxKShards; no bias).
// That tree is what a reduction across processes computes (docs/scaling.md).
inline constexpr size_t kMaxKShards = 1024;
struct GemmArgs {
  size_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  size_t a_row_stride = 0, a_col_stride = 1;
  const float* b = nullptr;
  size_t ldb = 0;
  bool b_panels = false;
  float* c = nullptr;
  size_t ldc = 0;
  bool c_panels = false;
  const float* bias = nullptr;
  bool relu = false;
  const float* mask = nullptr;
  size_t ldmask = 0;
  const FusedAdam* adam = nullptr;
  size_t k_shards = 1;
  const size_t* k_bounds = nullptr;  // k_shards + 1 entries when k_shards > 1
};
void gemm(const GemmArgs& args, Part part);

// Softmax cross-entropy over rows of logits[rows x classes] (row stride ld). For row i with
// label labels[i]: loss[i] = -log softmax(z)[label], predicted[i] = argmax (first maximum),
// grad[i, :] = (softmax(z) - onehot(label)) * grad_scale. grad may be null (evaluation).
void softmax_xent(const float* logits, size_t rows, size_t classes, size_t ld,
                  const uint8_t* labels, float grad_scale, float* grad, float* loss,
                  int32_t* predicted, Part part);

// out[j] = sum over i = 0..rows-1 (in order) of x[i * ld + j], for j < cols.
// column_sums, adam and sgd split a length-n output between parts identically (whole vectors,
// contiguous), so a thread may update the values it just summed without a sync.
void column_sums(const float* x, size_t rows, size_t cols, size_t ld, float* out, Part part);

// out[j * rows + i] = in[i * cols + j]: out is in^T, [cols x rows].
void transpose(const float* in, size_t rows, size_t cols, float* out, Part part);

// Adam (see AdamArgs) over flat arrays.
void adam(float* param, const float* grad, float* m, float* v, size_t n, const AdamArgs& args,
          Part part);

// SGD, Keras form: velocity = momentum * velocity - lr * g; p += velocity
// (nesterov: p += momentum * velocity - lr * g). momentum 0: p -= lr * g, velocity unused.
struct SgdArgs {
  float learning_rate = 0.01f, momentum = 0;
  bool nesterov = false;
};
void sgd(float* param, const float* grad, float* velocity, size_t n, const SgdArgs& args,
         Part part);

// A batch from a dataset of byte pixels: out[i * features + f] = pixels[indices[i] * features + f]
// / 255 (float32, rounded as the division rounds), rows split between parts. `streaming`:
// written around the caller's caches, for a batch that other threads read next.
void gather_pixels(const uint8_t* pixels, size_t features, const uint32_t* indices, size_t rows,
                   float* out, Part part, bool streaming = false);

// True if any of x[0..n) is NaN or infinite.
bool any_non_finite(const float* x, size_t n);

// Runs `iterations` rounds of independent FMA chains on registers; returns the number of
// floating-point operations done (2 per lane per FMA). For measuring the machine's peak.
double fma_peak_loop(size_t iterations);

// ---- SIMD targets ----------------------------------------------------------------------------
// Names as Highway spells them (AVX3, AVX2, SSE4, SSSE3, EMU128, ...).
std::vector<std::string> compiled_targets();          // compiled into this binary, best first
std::vector<std::string> supported_targets();         // compiled and supported by this CPU
std::string active_target();                          // what dispatch uses now
// Whether the active target rounds a*b+c once (a fused multiply-add: AVX2 and later) or twice
// (SSE4, the emulated and scalar targets). Targets of one kind give bitwise the same numbers;
// the two kinds differ by design.
bool active_target_fuses_multiply_add();
// Restricts dispatch to one compiled and supported target (case-insensitive name); false if
// there is none of that name. An empty name restores the default (the best target).
bool select_simd_target(const std::string& name);

// Register-tile geometry of the active target's GEMM (for benchmarks and notes).
struct GemmTile {
  size_t rows, cols;
};
GemmTile gemm_tile();

}  // namespace mlpbench::kernels
