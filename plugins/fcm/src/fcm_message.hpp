#pragma once
// The FCM HTTP v1 request body for one notification to one target:
//   {"message": {"token"|"topic"|"condition": ..., "notification": {"title", "body"}, "data": {string: string},
//                "android": {"ttl": "<n>s", "priority": "HIGH"|"NORMAL", "collapse_key"},
//                "apns": {"headers": {"apns-priority": "10"|"5"}}}}
// (android and apns only with the notification's ttl, priority or collapse_key).

#include <notify/notification.hpp>
#include <notify/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace notify::fcm {

/// What a target string names: a device (registration) token, a topic, or a condition over topics.
enum class TargetKind : std::uint8_t { token, topic, condition };

/// FCM refuses a message over 4,096 bytes; so does this, before sending.
inline constexpr std::size_t kMaxMessageBytes = 4096;

/// The body, or invalid_argument naming what FCM would refuse: an empty target, a data key FCM reserves ("from",
/// "notification", "message_type", "google.*", "gcm.*"), or a message over kMaxMessageBytes.
Result<std::string> build_message(const Notification& n, std::string_view target, TargetKind kind);

}  // namespace notify::fcm
