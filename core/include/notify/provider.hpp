#pragma once
/// @file provider.hpp
/// A provider turns a batch of notifications into calls to one notification service (Braze, a webhook, a log file).

#include <notify/abi.hpp>
#include <notify/notification.hpp>

#include <chrono>
#include <span>
#include <string>
#include <vector>

namespace notify {

struct NOTIFY_API ProviderHealth {
  /// Whether deliver() can succeed now (e.g. false while its API key has not been provisioned).
  bool ready = false;
  /// Operator-facing detail ("api key missing", "ok"); never a secret.
  std::string detail;
};

/// Where a provider reports results before its deliver_streaming() returns, as each call to its service ends. The
/// enclave passes each report to the parent at once, which stores it durably: an enclave that dies mid-batch then
/// repeats only what was at the service at that moment, not the whole batch.
class NOTIFY_API ResultSink {
 public:
  ResultSink() = default;
  ResultSink(const ResultSink&) = delete;
  ResultSink& operator=(const ResultSink&) = delete;
  virtual ~ResultSink() = default;
  /// `results[k]` is the final result of the notification at `indexes[k]` of the batch (the two spans have the same
  /// length). Each index at most once; from any thread, several at once. Returns quickly (no network wait).
  virtual void report(std::span<const std::size_t> indexes, std::span<const DeliveryResult> results) noexcept = 0;
};

class NOTIFY_API Provider {
 public:
  Provider() = default;
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;
  virtual ~Provider() = default;

  /// Delivers a batch and returns exactly one result per notification, in the same order. Must not throw; may block
  /// (network I/O) and may be called from several threads at once. A provider splits the batch itself if its API
  /// has a smaller limit.
  virtual std::vector<DeliveryResult> deliver(std::span<const Notification> batch) noexcept = 0;

  /// deliver() for a caller that stops waiting at `deadline` (steady clock; the enclave passes the link's budget): a
  /// provider should start no call and wait for no retry past it, and answer retryable instead, so that the caller's
  /// re-send does not find the notification still at the provider. A call already in flight is not cut short (it may
  /// have reached the service). The default ignores the deadline.
  virtual std::vector<DeliveryResult> deliver_by(std::span<const Notification> batch,
                                                 std::chrono::steady_clock::time_point /*deadline*/) noexcept {
    return deliver(batch);
  }

  /// deliver_by() that also reports each notification's result to `sink` as soon as it is known (when the call to the
  /// service that decides it ends). The returned vector still holds every result, the reported ones included, and
  /// must agree with what was reported. A provider that makes one call per batch may keep this default, which
  /// reports nothing early.
  virtual std::vector<DeliveryResult> deliver_streaming(std::span<const Notification> batch,
                                                        std::chrono::steady_clock::time_point deadline,
                                                        ResultSink& /*sink*/) noexcept {
    return deliver_by(batch, deadline);
  }

  /// Cheap readiness probe for health checks.
  [[nodiscard]] virtual ProviderHealth health() const noexcept = 0;
};

}  // namespace notify
