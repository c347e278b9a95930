#pragma once
// The floating-point mode every training and evaluation thread runs in.
//
// Denormal (subnormal) floats are flushed to zero, as TensorFlow does for every CPU kernel (its
// thread pools and op executor set FTZ and DAZ), so the engine computes what the Keras
// reference computes. It also matters for speed: Adam's moments of weights fed by
// rarely-lit border pixels decay into the denormal range between visits, and on x86 every
// operation on a denormal takes a slow path (bench/PERF.md, experiment 18).
namespace mlpbench {

// True where the engine can set the mode (x86 with SSE: MXCSR's FTZ and DAZ bits; AArch64:
// FPCR's FZ bit). Elsewhere the guard does nothing and denormals stay as IEEE 754 says.
bool can_flush_denormals();

// While alive, this thread flushes denormal inputs and results to zero; the destructor
// restores the thread's previous mode, so callers of the engine keep theirs.
class FlushDenormals {
 public:
  FlushDenormals();
  ~FlushDenormals();
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  unsigned long long saved_;
};

}  // namespace mlpbench
