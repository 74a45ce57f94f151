#pragma once
// Mapping Braze's HTTP answers to the three outcomes — pure, unit-tested for every status class.
//
// Braze REST API docs, "API errors and responses" and "Rate limits":
//   https://www.braze.com/docs/api/errors/  and  https://www.braze.com/docs/api/api_limits/
//   2XX  accepted: {"message": "success", "dispatch_id": ..., "errors": [<minor error message>...]}; messages not
//        named by a minor error are still sent. 202 {"message": "queued"} during maintenance is accepted too.
//   400/401/403/404 and other 4XX (except 429): fatal for this payload or key → rejected, never retried.
//   429  rate limited; X-RateLimit-Reset is the epoch second the window resets (no Retry-After is documented).
//   5XX  server trouble → retryable.
// Headers may arrive in any case; bodies on errors are not always JSON.

#include <notify/notification.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace notify::braze {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct CallOutcome {
  Outcome outcome = Outcome::retryable;
  std::string dispatch_id;
  std::string reason;
  std::chrono::milliseconds retry_after{0};
  std::vector<std::string> minor_errors;  // 2XX "errors" entries
};

/// `now` is wall-clock time, used to turn X-RateLimit-Reset (epoch seconds) into a wait.
CallOutcome map_response(const HttpResponse& response, std::chrono::system_clock::time_point now);

/// The rate-limit headers, when present.
struct RateLimitHeaders {
  std::optional<long long> limit;
  std::optional<long long> remaining;
  std::optional<long long> reset_epoch_seconds;
};
RateLimitHeaders rate_limit_headers(const HttpResponse& response);

/// Up to `max` characters of text, on one line, for error messages.
std::string trimmed(const std::string& text, std::size_t max = 200);

}  // namespace notify::braze
