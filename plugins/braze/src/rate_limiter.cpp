#include "rate_limiter.hpp"

#include <algorithm>

namespace notify::braze {

RateLimiter::RateLimiter(double requests_per_hour, double burst)
    : rate_per_ms_(requests_per_hour / 3'600'000.0),
      burst_(std::max(1.0, burst)),
      tokens_(burst_),
      last_(Clock::now()),
      next_allowed_(Clock::now()) {}

std::chrono::milliseconds RateLimiter::reserve() {
  std::lock_guard lock(mu_);
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double, std::milli>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * rate_per_ms_);
  last_ = now;
  tokens_ -= 1.0;  // may go negative: the debt is the wait
  auto wait_bucket = tokens_ >= 0 ? 0.0 : -tokens_ / rate_per_ms_;
  auto wait_spread = std::chrono::duration<double, std::milli>(next_allowed_ - now).count();
  const double wait = std::max({0.0, wait_bucket, wait_spread});
  next_allowed_ = std::max(next_allowed_, now) + spread_;
  return std::chrono::milliseconds(static_cast<long long>(wait));
}

void RateLimiter::observe(long long limit, long long remaining, std::chrono::milliseconds reset_in) {
  std::lock_guard lock(mu_);
  // Below 10% of the window left: spread what remains over the time to reset, so we do not hit 429 at all.
  if (limit > 0 && remaining >= 0 && remaining * 10 < limit && reset_in.count() > 0) {
    spread_ = std::chrono::milliseconds(reset_in.count() / std::max<long long>(remaining, 1));
  } else {
    spread_ = std::chrono::milliseconds(0);
  }
}

}  // namespace notify::braze
