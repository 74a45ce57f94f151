#pragma once
// The FCM provider (HTTP v1): one messages:send call per device token of a notification, or one to its topic (FCM v1
// has no batch endpoint), with an OAuth access token from the
// service account in the enclave's secret store, over the shared HTTP client (HTTP/2 streams to fcm.googleapis.com),
// retrying what is retryable within the caller's deadline.

#include "access_token.hpp"
#include "fcm_message.hpp"

#include <notify/http/http_client.hpp>
#include <notify/log.hpp>
#include <notify/provider.hpp>
#include <notify/secret.hpp>
#include <notify/toolkit/backoff.hpp>
#include <notify/toolkit/batch_provider.hpp>
#include <notify/toolkit/early_results.hpp>

#include <chrono>
#include <mutex>
#include <string>

namespace notify::fcm {

struct FcmOptions {
  std::string endpoint = "https://fcm.googleapis.com";  ///< scheme://host[:port], no path
  http::HttpClientOptions http;
  std::string secret_name = "fcm.service_account";  ///< SecretStore name of the service account JSON
  std::size_t concurrency = 32;                     ///< calls in flight per batch
  int max_attempts = 3;
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds max_retry_wait{30000};
};

class FcmProvider final : public toolkit::BatchProvider {
 public:
  /// Throws std::runtime_error when the HTTP client cannot be set up.
  FcmProvider(FcmOptions options, SecretStore& secrets, TransportRegistry& transports, Log& log);

  [[nodiscard]] ProviderHealth health() const noexcept override;

  /// OAuth exchanges made so far (tests: the token is cached).
  [[nodiscard]] int token_exchanges() const { return tokens_.exchanges(); }

 private:
  /// Reports each notification when every FCM call of it (one per device token) has a final answer, before the
  /// others' retries.
  std::vector<DeliveryResult> run(std::span<const Notification> batch, std::chrono::steady_clock::time_point deadline,
                                  ResultSink* sink) noexcept override;
  std::chrono::milliseconds backoff(int attempt);

  FcmOptions options_;
  SecretStore& secrets_;
  Log& log_;
  http::HttpClient http_;
  AccessTokens tokens_;
  std::mutex rng_mu_;
  toolkit::Rng rng_{toolkit::random_seed()};
};

}  // namespace notify::fcm
