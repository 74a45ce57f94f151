#pragma once
// Capped exponential backoff with jitter, the one every retry loop uses (link reconnects, queue retries, Braze
// retries, KMS provisioning). The delay before retry n (0 = the first) is drawn uniformly from [c/2, c] with
// c = initial · 2^n capped at max, so many clients that failed together do not retry together. The random source is
// a seedable engine: tests fix the seed (or pass their own engine) and get the same delays every run.

#include <chrono>
#include <cstdint>
#include <random>

namespace notify::toolkit {

/// The engine jitter is drawn from.
using Rng = std::mt19937_64;

/// A seed from the operating system's entropy, for production engines.
[[nodiscard]] std::uint64_t random_seed();

struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{10000};

  /// The upper bound of retry `attempt` (0-based): initial · 2^attempt, capped at max (no overflow however large
  /// `attempt` is). A negative initial or max counts as zero.
  [[nodiscard]] std::chrono::milliseconds ceiling(int attempt) const noexcept;
  /// A delay drawn from [ceiling/2, ceiling] (zero when the ceiling is zero).
  [[nodiscard]] std::chrono::milliseconds delay(int attempt, Rng& rng) const;
};

/// A backoff that counts consecutive failures itself: next() after each failure, reset() after a success.
class Backoff {
 public:
  /// An initial below 1 ms is raised to 1 ms, so a loop driven by it never spins.
  explicit Backoff(BackoffPolicy policy, std::uint64_t seed = random_seed());
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, std::uint64_t seed = random_seed())
      : Backoff(BackoffPolicy{initial, max}, seed) {}

  /// The delay after one more failure; each call doubles the ceiling until it reaches max.
  std::chrono::milliseconds next();
  /// A delay drawn at the cap, without counting a failure: for a peer that will not change soon.
  std::chrono::milliseconds longest();
  /// After a success: the next failure starts from `initial` again.
  void reset() noexcept { failures_ = 0; }
  [[nodiscard]] int failures() const noexcept { return failures_; }
  [[nodiscard]] const BackoffPolicy& policy() const noexcept { return policy_; }

 private:
  BackoffPolicy policy_;
  int failures_ = 0;
  Rng rng_;
};

}  // namespace notify::toolkit
