#pragma once
// Turning notifications into Braze REST calls — pure, no network, unit-tested against golden files.
//
// Endpoints (Braze REST API docs, "Messaging > Send messages"):
//   https://www.braze.com/docs/api/endpoints/messaging/send_messages/post_send_messages/ (up to 50 external_ids)
//   https://www.braze.com/docs/api/endpoints/messaging/send_messages/post_send_triggered_campaigns/
//   POST /messages/send            external_user_ids + messages.{apple_push, android_push}; no recipients, no
//                                  trigger properties.
//   POST /campaigns/trigger/send   campaign_id + recipients[{external_user_id, trigger_properties}]
//   POST /canvas/trigger/send      canvas_id + recipients[{external_user_id, canvas_entry_properties}]
// At most 50 external_user_ids / recipients per request (Braze's documented per-request maximum).

#include <notify/notification.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace notify::braze {

inline constexpr std::size_t kMaxRecipientsPerRequest = 50;
inline constexpr std::size_t kApplePushMaxBytes = 1912;    // Braze: apple_push payload limit
inline constexpr std::size_t kAndroidPushMaxBytes = 4000;  // Braze: android_push payload limit

struct ContentOptions {
  bool apple = true;
  bool android = true;
  std::string default_campaign_id;  // used when a notification names none
  std::string default_canvas_id;
};

/// One HTTP request to Braze and the notifications whose recipients it carries.
struct BrazeCall {
  std::string path;
  std::string body;
  std::vector<std::size_t> notifications;  // indexes into the batch, ascending
  std::vector<std::string> recipients;     // external_user_ids in this call
};

struct BuildResult {
  std::vector<BrazeCall> calls;
  /// Per notification: set when it was refused before sending (rejected, naming the limit).
  std::vector<std::optional<DeliveryResult>> refused;
};

/// Groups same-content notifications into calls of at most 50 recipients; refuses what Braze would refuse.
BuildResult build_calls(std::span<const Notification> batch, const ContentOptions& options);

/// The apple_push / android_push objects for one notification, as JSON text (exposed for tests and size checks).
std::string apple_push_json(const Notification& n);
std::string android_push_json(const Notification& n);

}  // namespace notify::braze
