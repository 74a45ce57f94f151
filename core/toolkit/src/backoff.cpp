#include <notify/toolkit/backoff.hpp>

#include <algorithm>
#include <limits>

namespace notify::toolkit {

std::uint64_t random_seed() {
  std::random_device rd;  // 32 bits per call on common implementations
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

std::chrono::milliseconds BackoffPolicy::ceiling(int attempt) const noexcept {
  const std::int64_t cap = std::max<std::int64_t>(max.count(), 0);
  const std::int64_t first = std::clamp<std::int64_t>(initial.count(), 0, cap);
  const int step = std::max(attempt, 0);
  if (first == 0) return std::chrono::milliseconds(0);
  // first · 2^step > cap  ⇔  first > cap >> step (for step < 63); beyond that the cap wins anyway.
  if (step >= std::numeric_limits<std::int64_t>::digits || first > (cap >> step)) return std::chrono::milliseconds(cap);
  return std::chrono::milliseconds(first << step);
}

std::chrono::milliseconds BackoffPolicy::delay(int attempt, Rng& rng) const {
  const auto c = ceiling(attempt).count();
  if (c == 0) return std::chrono::milliseconds(0);
  std::uniform_int_distribution<std::int64_t> jitter(c / 2, c);
  return std::chrono::milliseconds(jitter(rng));
}

Backoff::Backoff(BackoffPolicy policy, std::uint64_t seed)
    : policy_{std::max(policy.initial, std::chrono::milliseconds(1)),
              std::max(policy.max, std::max(policy.initial, std::chrono::milliseconds(1)))},
      rng_(seed) {}

std::chrono::milliseconds Backoff::next() {
  const auto d = policy_.delay(failures_, rng_);
  if (failures_ < std::numeric_limits<int>::max()) ++failures_;
  return d;
}

std::chrono::milliseconds Backoff::longest() { return policy_.delay(std::numeric_limits<int>::max(), rng_); }

}  // namespace notify::toolkit
