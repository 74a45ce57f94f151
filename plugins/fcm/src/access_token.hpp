#pragma once
// OAuth 2.0 access tokens for FCM: a service account's signed assertion exchanged at its token_uri
// (grant_type urn:ietf:params:oauth:grant-type:jwt-bearer), cached and refreshed before it expires. Concurrent
// deliveries share one token and one exchange.

#include "service_account.hpp"

#include <notify/http/http_client.hpp>
#include <notify/log.hpp>
#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace notify::fcm {

class AccessTokens {
 public:
  AccessTokens(http::HttpClient& http, Log& log) : http_(http), log_(log) {}

  /// A token for `account` with at least refresh_margin() of life left: the cached one, or a new exchange finished
  /// by `deadline`. Errors name the token endpoint's origin and its OAuth error, never the assertion or a token.
  Result<Secret> get(const ServiceAccount& account, std::chrono::steady_clock::time_point deadline);

  /// Forgets the cached token (FCM answered 401 for it), so the next get() exchanges again.
  void invalidate();

  /// Exchanges made so far (for health and tests).
  [[nodiscard]] int exchanges() const;

  static constexpr std::chrono::seconds refresh_margin() { return std::chrono::seconds(300); }

 private:
  http::HttpClient& http_;
  Log& log_;
  mutable std::mutex mu_;  // held across an exchange, so that concurrent callers wait for it instead of repeating it
  std::optional<Secret> token_;
  std::string token_for_;  // client_email + token_uri of the account the token belongs to (a rotated key refreshes)
  std::chrono::steady_clock::time_point expires_{};
  int exchanges_ = 0;
};

}  // namespace notify::fcm
