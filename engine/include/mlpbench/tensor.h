#pragma once
// Aligned float storage. Every buffer is 64-byte aligned and padded by one cache line past its
// end, so a SIMD kernel may load (never store) a full vector that starts inside the buffer.
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace mlpbench {

inline constexpr size_t kAlignment = 64;
inline constexpr size_t kHugePage = size_t{2} << 20;

template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { resize(n); }
  AlignedBuffer(const AlignedBuffer& o) : AlignedBuffer(o.size_) {
    if (size_) std::memcpy(data_, o.data_, size_ * sizeof(T));
  }
  AlignedBuffer(AlignedBuffer&& o) noexcept { swap(o); }
  AlignedBuffer& operator=(AlignedBuffer o) noexcept {
    swap(o);
    return *this;
  }
  ~AlignedBuffer() { std::free(data_); }

  // Discards the contents; the new buffer is zero-filled (padding included).
  void resize(size_t n) {
    std::free(data_);
    data_ = nullptr;
    size_ = n;
    const size_t bytes = round_up(n * sizeof(T), kAlignment) + kAlignment;
    const bool huge = bytes >= kHugePage;
    const size_t alignment = huge ? kHugePage : kAlignment;
    const size_t capacity = round_up(bytes, alignment);
    data_ = static_cast<T*>(std::aligned_alloc(alignment, capacity));
    if (!data_) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // Large buffers (the dataset, a big model's parameters and optimizer state) are read at
    // random rows or streamed every step: with 4 KB pages nearly every dataset row costs a TLB
    // miss, and a page walk is expensive in a VM. Advice only: a refusal changes nothing.
    if (huge) madvise(data_, capacity, MADV_HUGEPAGE);
#endif
    std::memset(static_cast<void*>(data_), 0, bytes);
  }
  void fill_zero() {
    if (size_) std::memset(static_cast<void*>(data_), 0, size_ * sizeof(T));
  }
  void swap(AlignedBuffer& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }
  T* data_ = nullptr;
  size_t size_ = 0;
};

using FloatBuffer = AlignedBuffer<float>;

}  // namespace mlpbench
