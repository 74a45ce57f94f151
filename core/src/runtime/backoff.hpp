#pragma once
// Capped exponential backoff with jitter: the n-th delay is drawn from [base/2, base] with base = initial · 2^n
// capped at `max`, so many clients that failed together do not retry together.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace notify::runtime {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(std::max<std::chrono::milliseconds>(initial, std::chrono::milliseconds(1))),
        max_(std::max(max, initial_)) {}

  /// The next delay; each call doubles the base until it reaches the cap.
  std::chrono::milliseconds next() {
    const int step = std::min(step_++, 30);
    const auto base = std::min<std::int64_t>(initial_.count() << step, max_.count());
    std::uniform_int_distribution<std::int64_t> jitter(base / 2, base);
    return std::chrono::milliseconds(jitter(rng_));
  }
  /// After a success: the next failure starts from `initial` again.
  void reset() noexcept { step_ = 0; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int step_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace notify::runtime
