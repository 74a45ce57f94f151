#pragma once
// The webhook provider: POSTs each notification as JSON to one HTTPS URL, signed per Standard Webhooks with the
// secret from the enclave's secret store, over the shared HTTP client (concurrent calls, HTTP/2 where the receiver
// offers it), retrying what is retryable within the caller's deadline.

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

namespace notify::webhook {

struct WebhookOptions {
  std::string url;  ///< https://...; its path and query are sent, but never logged (they may hold a token)
  http::HttpClientOptions http;
  std::string secret_name = "webhook.webhook_secret";  ///< SecretStore name of the "whsec_..." secret
  std::size_t concurrency = 16;                        ///< calls in flight per batch
  int max_attempts = 3;  ///< sends of one notification inside one deliver(); then the caller gets "retryable"
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds max_retry_wait{30000};  ///< longer waits go back to the caller as retry_after
};

class WebhookProvider final : public toolkit::BatchProvider {
 public:
  /// Throws std::runtime_error when the HTTP client cannot be set up.
  WebhookProvider(WebhookOptions options, SecretStore& secrets, TransportRegistry& transports, Log& log);

  [[nodiscard]] ProviderHealth health() const noexcept override;

 private:
  /// Reports each notification when its POST has a final answer, before the others' retries.
  std::vector<DeliveryResult> run(std::span<const Notification> batch, std::chrono::steady_clock::time_point deadline,
                                  ResultSink* sink) noexcept override;
  std::chrono::milliseconds backoff(int attempt);

  WebhookOptions options_;
  std::string target_;  ///< "https://host:port" for messages: no path
  SecretStore& secrets_;
  Log& log_;
  http::HttpClient http_;
  std::mutex rng_mu_;
  toolkit::Rng rng_{toolkit::random_seed()};
};

}  // namespace notify::webhook
