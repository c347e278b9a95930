#pragma once
// Seeded random numbers with a fixed, portable definition (std:: distributions are not), so
// a seed means the same initialisation and shuffles on every platform.
#include <array>
#include <cstdint>
#include <vector>

namespace mlpbench {

// xoshiro256** seeded through splitmix64; `stream` separates independent uses of one seed.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream);
  uint64_t next();
  double uniform();                    // [0, 1), 53 random bits
  uint64_t below(uint64_t n);          // uniform in [0, n), unbiased
  std::array<uint64_t, 4> state() const { return s_; }
  void set_state(const std::array<uint64_t, 4>& s) { s_ = s; }

 private:
  std::array<uint64_t, 4> s_;
};

// Independent streams derived from an experiment's seed.
enum RngStream : uint64_t { kInitStream = 1, kShuffleStream = 2 };

// Fisher-Yates shuffle of `order` in place.
void shuffle(std::vector<uint32_t>& order, Rng& rng);

}  // namespace mlpbench
