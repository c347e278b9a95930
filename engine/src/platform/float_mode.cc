#include "mlpbench/float_mode.h"

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace mlpbench {

namespace {
#if defined(__SSE2__)
constexpr unsigned kFlushToZero = 0x8000;      // MXCSR.FTZ: denormal results become zero
constexpr unsigned kDenormalsAreZero = 0x0040;  // MXCSR.DAZ: denormal inputs read as zero
#elif defined(__aarch64__)
constexpr unsigned long long kFpcrFlushToZero = 1ull << 24;  // FPCR.FZ: both directions

unsigned long long read_fpcr() {
  unsigned long long fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  return fpcr;
}
void write_fpcr(unsigned long long fpcr) { __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr)); }
#endif
}  // namespace

bool can_flush_denormals() {
#if defined(__SSE2__) || defined(__aarch64__)
  return true;
#else
  return false;
#endif
}

FlushDenormals::FlushDenormals() : saved_(0) {
#if defined(__SSE2__)
  saved_ = _mm_getcsr();
  _mm_setcsr(static_cast<unsigned>(saved_) | kFlushToZero | kDenormalsAreZero);
#elif defined(__aarch64__)
  saved_ = read_fpcr();
  write_fpcr(saved_ | kFpcrFlushToZero);
#endif
}

FlushDenormals::~FlushDenormals() {
#if defined(__SSE2__)
  _mm_setcsr(static_cast<unsigned>(saved_));
#elif defined(__aarch64__)
  write_fpcr(saved_);
#endif
}

}  // namespace mlpbench
