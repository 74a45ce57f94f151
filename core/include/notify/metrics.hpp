#pragma once
/// @file metrics.hpp
/// What a provider tells the host about its calls to the service, for metrics. The host names the series after the
/// provider instance (label `provider`), keeps them in its registry and, in an enclave, hands them to the parent over
/// the link, which exposes them on its /metrics with `source="enclave"` (README "Metrics").
///
/// Every method is cheap (an atomic add), thread-safe and never throws: call it from any of deliver()'s threads.
#include <notify/abi.hpp>

#include <chrono>
#include <cstdint>

namespace notify {

class NOTIFY_API ProviderMetrics {
 public:
  ProviderMetrics() = default;
  ProviderMetrics(const ProviderMetrics&) = delete;
  ProviderMetrics& operator=(const ProviderMetrics&) = delete;
  virtual ~ProviderMetrics() = default;

  /// One HTTP request to the service ended after `latency`, with HTTP status `status`, or 0 when no status came back
  /// (connection refused, TLS failure, timeout, reset). notify_provider_calls_total{provider,status} and
  /// notify_provider_call_duration_seconds{provider}.
  virtual void call_finished(int status, std::chrono::microseconds latency) noexcept = 0;
  /// The plugin will send a call again after a retryable answer (notify_provider_retries_total).
  virtual void retry_scheduled() noexcept = 0;
  /// The plugin's own rate limiter held a call back for `waited` (notify_provider_throttled_total and
  /// notify_provider_throttled_seconds_total).
  virtual void throttled(std::chrono::milliseconds waited) noexcept = 0;
  /// What the service last said remains of its rate-limit window (Braze: X-RateLimit-Remaining), for
  /// notify_provider_rate_limit_remaining{provider}.
  virtual void rate_limit_remaining(std::int64_t remaining) noexcept = 0;
};

}  // namespace notify
