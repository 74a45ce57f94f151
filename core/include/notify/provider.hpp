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

  /// Cheap readiness probe for health checks.
  [[nodiscard]] virtual ProviderHealth health() const noexcept = 0;
};

}  // namespace notify
