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

/// How urgently a push should be delivered (FCM android.priority, APNs apns-priority).
enum class Priority : std::uint8_t {
  unset = 0,   ///< the provider's (or the provider instance's configured) default
  normal = 1,  ///< may be delayed to save the device's battery (FCM NORMAL, APNs 5)
  high = 2,    ///< deliver at once (FCM HIGH, APNs 10)
};

/// One notification to one or more recipients: users (by external id), device tokens, or one FCM topic. A
/// notification names at least one recipient; which kinds a provider accepts is the provider's to say (Braze: users;
/// FCM: device tokens or a topic; APNs: device tokens), and it rejects the others with a reason naming them.
struct NOTIFY_API Notification {
  /// Caller-chosen unique id; the idempotency key end to end (ingress, queue, link, enclave dedup).
  std::string request_id;
  /// Recipients, by the provider's external user id.
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
  /// Recipients, by device token (FCM registration token, APNs hex token). Each gets its own TokenResult; a retry
  /// carries only the tokens still pending (see DeliveryResult).
  std::vector<std::string> device_tokens;
  /// An FCM topic name (without "/topics/"), or empty.
  std::string topic;
  /// How long the provider keeps trying to reach the device; 0 = the provider's default.
  std::chrono::seconds ttl{0};
  Priority priority = Priority::unset;
  /// Replaces an undelivered (or displayed) push with the same key (FCM collapse_key, APNs apns-collapse-id).
  std::string collapse_key;
  /// An FCM condition over topics, e.g. "'dogs' in topics || 'cats' in topics", or empty: one target of its own,
  /// like a topic. FCM only.
  std::string condition;
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

/// What happened to one device token of a notification.
enum class TokenOutcome : std::uint8_t {
  delivered = 0,      ///< the provider accepted the push for this token
  rejected = 1,       ///< permanent failure for this token (bad payload for it, sender mismatch); not retried
  retryable = 2,      ///< transient failure; the token stays pending and is sent again on the notification's retry
  invalid_token = 3,  ///< the provider says the token is gone or malformed (FCM UNREGISTERED, APNs Unregistered /
                      ///< BadDeviceToken): never retried; the parent keeps and shows it so that apps drop it
};

constexpr const char* token_outcome_name(TokenOutcome o) noexcept {
  switch (o) {
    case TokenOutcome::delivered:
      return "delivered";
    case TokenOutcome::rejected:
      return "rejected";
    case TokenOutcome::retryable:
      return "retryable";
    case TokenOutcome::invalid_token:
      return "invalid_token";
  }
  return "unknown";
}

/// A token's outcome from the outcome of the call that carried it, and whether the provider said the token itself is
/// invalid (only a rejection can say so).
constexpr TokenOutcome token_outcome_of(Outcome call, bool invalid_token) noexcept {
  switch (call) {
    case Outcome::delivered:
      return TokenOutcome::delivered;
    case Outcome::rejected:
      return invalid_token ? TokenOutcome::invalid_token : TokenOutcome::rejected;
    case Outcome::retryable:
      break;
  }
  return TokenOutcome::retryable;
}

/// The result for one device token.
struct NOTIFY_API TokenResult {
  std::string token;
  TokenOutcome outcome = TokenOutcome::retryable;
  /// The provider's id for a delivered push (FCM message name, apns-id), or empty.
  std::string reference;
  /// Why it failed. Operator-facing; never a secret.
  std::string reason;
};

/// The result for one notification, in the same order as the batch handed to the provider.
///
/// A provider that sends to device tokens reports each in `tokens` (one entry per token it was given) and sets the
/// notification's outcome from them, as from_tokens() does: retryable while any token is retryable (the caller
/// retries the notification with only those tokens, so no token is pushed twice because another one failed);
/// otherwise delivered if any token was delivered; otherwise rejected (every token rejected or invalid). An empty
/// `tokens` means the outcome applies to every recipient alike (a whole-notification answer: a bad payload, a
/// network failure before any call, a provider without tokens).
struct NOTIFY_API DeliveryResult {
  Outcome outcome = Outcome::retryable;
  /// Provider's reference for a delivered notification (may be empty).
  std::string reference;
  /// Why it was rejected or should be retried. Operator-facing; never contains a secret.
  std::string reason;
  /// For retryable: earliest time to retry, relative to now. Zero = caller's own backoff.
  std::chrono::milliseconds retry_after{0};
  /// Per device token, when the notification had device tokens and the provider reports them (see above).
  std::vector<TokenResult> tokens;

  static DeliveryResult delivered(std::string reference = {}) {
    return {Outcome::delivered, std::move(reference), {}, std::chrono::milliseconds{0}, {}};
  }
  static DeliveryResult rejected(std::string reason) {
    return {Outcome::rejected, {}, std::move(reason), std::chrono::milliseconds{0}, {}};
  }
  static DeliveryResult retryable(std::string reason, std::chrono::milliseconds after = std::chrono::milliseconds{0}) {
    return {Outcome::retryable, {}, std::move(reason), after, {}};
  }
  /// The notification's result from its tokens' (the rule above); `after` is kept when the result is retryable. The
  /// reference and reason are those of the first token with the deciding outcome.
  static DeliveryResult from_tokens(std::vector<TokenResult> tokens,
                                    std::chrono::milliseconds after = std::chrono::milliseconds{0}) {
    auto first = [&](TokenOutcome o) -> const TokenResult* {
      for (const auto& t : tokens) {
        if (t.outcome == o) return &t;
      }
      return nullptr;
    };
    DeliveryResult r;
    if (const auto* t = first(TokenOutcome::retryable)) {
      r = retryable(t->reason, after);
    } else if (const auto* d = first(TokenOutcome::delivered)) {
      r = delivered(d->reference);
    } else if (const auto* x = first(TokenOutcome::rejected)) {
      r = rejected(x->reason);
    } else if (const auto* i = first(TokenOutcome::invalid_token)) {
      r = rejected(i->reason);
    } else {
      r = rejected("no device tokens");
    }
    r.tokens = std::move(tokens);
    return r;
  }
};

}  // namespace notify
