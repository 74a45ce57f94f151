#pragma once
// The APNs provider: one POST /3/device/<token> per notification and device token, over HTTP/2 (APNs speaks nothing
// else) on the shared HTTP client, authenticated with an ES256 provider token made from the team's .p8 key in the
// enclave's secret store, retrying what is retryable within the caller's deadline.

#include "provider_token.hpp"

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

namespace notify::apns {

struct ApnsOptions {
  std::string endpoint = "https://api.push.apple.com";  ///< scheme://host[:port] (sandbox: api.sandbox.push.apple.com)
  http::HttpClientOptions http;
  std::string secret_name = "apns.key";  ///< SecretStore name of the .p8 key (PEM)
  std::string key_id, team_id;
  std::string topic;                ///< apns-topic: the app's bundle id
  std::string push_type = "alert";  ///< apns-push-type
  int priority = 10;                ///< apns-priority: 10 now, 5 power-considerate
  std::size_t concurrency = 32;
  int max_attempts = 3;
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds max_retry_wait{30000};
};

class ApnsProvider final : public toolkit::BatchProvider {
 public:
  ApnsProvider(ApnsOptions options, SecretStore& secrets, TransportRegistry& transports, Log& log);

  [[nodiscard]] ProviderHealth health() const noexcept override;

 private:
  /// Reports each notification when every push of it (one per device token) has a final answer, before the others'
  /// retries.
  std::vector<DeliveryResult> run(std::span<const Notification> batch, std::chrono::steady_clock::time_point deadline,
                                  ResultSink* sink) noexcept override;
  std::chrono::milliseconds backoff(int attempt);

  ApnsOptions options_;
  SecretStore& secrets_;
  Log& log_;
  http::HttpClient http_;
  ProviderTokens tokens_;
  std::mutex rng_mu_;
  toolkit::Rng rng_{toolkit::random_seed()};
};

}  // namespace notify::apns
