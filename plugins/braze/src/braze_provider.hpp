#pragma once
// The Braze provider: batches notifications into Braze REST calls, sends them over HTTPS with the API key from the
// enclave's secret store, retries what is retryable within bounds, and maps every answer back to each notification.

#include "braze_http.hpp"
#include "braze_request.hpp"
#include "rate_limiter.hpp"

#include <notify/log.hpp>
#include <notify/metrics.hpp>
#include <notify/provider.hpp>
#include <notify/secret.hpp>
#include <notify/toolkit/backoff.hpp>
#include <notify/toolkit/batch_provider.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace notify::braze {

struct BrazeOptions {
  ContentOptions content;
  HttpOptions http;
  std::string api_key_secret = "braze.api_key";
  int max_attempts = 3;  // sends of one call inside one deliver(); then the caller gets "retryable"
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds max_retry_wait{30000};  // longer waits are handed back to the caller as retry_after
  double rate_limit_per_hour = 250000;
  ProviderMetrics* metrics = nullptr;  // the plugin context's: calls by status, latency, retries, rate limit
};

class BrazeProvider final : public toolkit::BatchProvider {
 public:
  BrazeProvider(BrazeOptions options, SecretStore& secrets, TransportRegistry& transports, Log& log);

  [[nodiscard]] ProviderHealth health() const noexcept override;

 private:
  struct Sent {
    CallOutcome outcome;
    int attempts = 0;
  };
  /// Reports each notification's result when the last Braze call carrying it ends (a batch is several calls when its
  /// notifications differ in content or have more than 50 recipients).
  std::vector<DeliveryResult> run(std::span<const Notification> batch, std::chrono::steady_clock::time_point deadline,
                                  ResultSink* sink) noexcept override;
  /// One Braze call with its retries; none started, and no wait, past `deadline`.
  Sent send_call(const BrazeCall& call, const Secret& key, std::chrono::steady_clock::time_point deadline);
  std::chrono::milliseconds backoff(int attempt);

  BrazeOptions options_;
  SecretStore& secrets_;
  Log& log_;
  BrazeHttpClient http_;
  RateLimiter limiter_;
  std::mutex rng_mu_;
  toolkit::Rng rng_{toolkit::random_seed()};
};

}  // namespace notify::braze
