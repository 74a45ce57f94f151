#pragma once
// Turning an HTTP body into notifications, refusing anything malformed with the field named
// ("notifications[2].external_user_ids: must be a non-empty array of strings"). Pure; unit-tested.

#include <notify/notification.hpp>
#include <notify/result.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace notify::services {

/// Accepts one notification object, or {"notifications": [ ... ]} (1..500 of them).
/// Fields: request_id (1..128 of [A-Za-z0-9._:-]); recipients, at least one of external_user_id or
/// external_user_ids (1..50 non-empty strings), device_tokens (1..50 distinct tokens of printable ASCII, at most 1024
/// each) and topic (1..900 of [A-Za-z0-9-_.~%], not with device_tokens); ttl (whole seconds, 0..28 days), priority
/// ("high" or "normal"), collapse_key (at most 64 bytes); title, message (strings; message required), custom_data
/// (object of strings), trigger_properties (object), provider, campaign_id, canvas_id (strings).
Result<std::vector<Notification>> parse_notifications(std::string_view body);

struct Submission {
  std::vector<Notification> notifications;
  std::vector<std::string> callback_urls;  ///< one per notification, in order; empty = the configured callbacks.url
};

/// parse_notifications, plus each notification's optional `callback_url` (https, or http to loopback): refused with
/// the field named unless `allow_callback_url` (callbacks.allow_per_notification_url).
Result<Submission> parse_submission(std::string_view body, bool allow_callback_url);

}  // namespace notify::services
