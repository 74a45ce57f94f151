#pragma once
/// @file notification.hpp
/// The message model shared by every provider. Field names follow the seed prototype's NotificationRequest.

#include <notify/abi.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace notify {

/// One notification to one or more users.
struct NOTIFY_API Notification {
  /// Caller-chosen unique id; the idempotency key end to end (ingress, queue, link, enclave dedup).
  std::string request_id;
  /// Recipients, by the provider's external user id. At least one.
  std::vector<std::string> external_user_ids;
  std::string title;
  std::string message;
  /// Flat key/value pairs the app receives with the push (Braze: `extra`).
  std::map<std::string, std::string> custom_data;
  /// A JSON object as text, or empty. Braze: per-recipient `trigger_properties` / `canvas_entry_properties`.
  std::string trigger_properties_json;
  /// Provider instance to use; empty selects the host's default provider.
  std::string provider;
  /// Provider-specific targeting (Braze: API-triggered campaign or canvas). Empty when unused.
  std::string campaign_id;
  std::string canvas_id;
};

/// What happened to one notification. Exactly three outcomes, because the caller's next step differs for each.
enum class Outcome : std::uint8_t {
  delivered = 0,  ///< the provider accepted it; `reference` holds its id (e.g. Braze dispatch_id)
  rejected = 1,   ///< permanent failure (bad request, bad key, over a size limit); never retried
  retryable = 2,  ///< transient failure (429, 5xx, network); retry after `retry_after` at the earliest
};

constexpr const char* outcome_name(Outcome o) noexcept {
  switch (o) {
    case Outcome::delivered:
      return "delivered";
    case Outcome::rejected:
      return "rejected";
    case Outcome::retryable:
      return "retryable";
  }
  return "unknown";
}

/// The result for one notification, in the same order as the batch handed to the provider.
struct NOTIFY_API DeliveryResult {
  Outcome outcome = Outcome::retryable;
  /// Provider's reference for a delivered notification (may be empty).
  std::string reference;
  /// Why it was rejected or should be retried. Operator-facing; never contains a secret.
  std::string reason;
  /// For retryable: earliest time to retry, relative to now. Zero = caller's own backoff.
  std::chrono::milliseconds retry_after{0};

  static DeliveryResult delivered(std::string reference = {}) {
    return {Outcome::delivered, std::move(reference), {}, std::chrono::milliseconds{0}};
  }
  static DeliveryResult rejected(std::string reason) {
    return {Outcome::rejected, {}, std::move(reason), std::chrono::milliseconds{0}};
  }
  static DeliveryResult retryable(std::string reason, std::chrono::milliseconds after = std::chrono::milliseconds{0}) {
    return {Outcome::retryable, {}, std::move(reason), after};
  }
};

}  // namespace notify
