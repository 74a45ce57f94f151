#pragma once
// The JSON a webhook receiver gets for one notification, in the Standard Webhooks payload shape:
//   {"type": "notification.send", "timestamp": "<ISO 8601>", "data": {request_id, external_user_ids, title,
//    message, custom_data, trigger_properties?, campaign_id?, canvas_id?, device_tokens?, topic?, ttl? (seconds),
//    priority? ("high"/"normal"), collapse_key?}}

#include <notify/notification.hpp>
#include <notify/result.hpp>

#include <chrono>
#include <string>

namespace notify::webhook {

inline constexpr const char* kEventType = "notification.send";

/// The body for `n`, or invalid_argument for a notification that cannot be sent (no request_id, which becomes the
/// webhook-id receivers deduplicate on; trigger_properties_json that is not a JSON object).
Result<std::string> build_payload(const Notification& n, std::chrono::system_clock::time_point now);

}  // namespace notify::webhook
