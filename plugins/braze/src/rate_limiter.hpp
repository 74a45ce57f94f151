#pragma once
// Client-side pacing of Braze requests: a token bucket at the configured hourly rate (Braze documents 250,000
// requests per hour shared by the messaging endpoints), tightened by what Braze's X-RateLimit-* headers say: when
// few requests remain in the window, the remaining ones are spread until the reset.
// Source: https://www.braze.com/docs/api/api_limits/ (X-RateLimit-Limit/Remaining/Reset; Reset is UTC epoch seconds).

#include <chrono>
#include <mutex>

namespace notify::braze {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(double requests_per_hour, double burst = 100);

  /// How long the caller must wait before its request may go out (zero = now). Reserves the slot.
  std::chrono::milliseconds reserve();

  /// Feeds the headers of a response. `reset_in` is the time until the window resets.
  void observe(long long limit, long long remaining, std::chrono::milliseconds reset_in);

 private:
  std::mutex mu_;
  double rate_per_ms_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
  Clock::time_point next_allowed_;       // from header-driven spreading
  std::chrono::milliseconds spread_{0};  // minimum gap while the window runs low
};

}  // namespace notify::braze
