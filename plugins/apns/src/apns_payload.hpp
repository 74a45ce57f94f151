#pragma once
// The APNs request body for one notification: {"aps": {"alert": {"title", "body"}}, <custom_data keys>: "..."}.

#include <notify/notification.hpp>
#include <notify/result.hpp>

#include <string>
#include <string_view>

namespace notify::apns {

/// APNs refuses a payload over 4,096 bytes (PayloadTooLarge); so does this, before sending.
inline constexpr std::size_t kMaxPayloadBytes = 4096;

/// The body, or invalid_argument: a custom_data key "aps" (Apple's), or a payload over kMaxPayloadBytes.
Result<std::string> build_payload(const Notification& n);

/// A device token as APNs issues it: hexadecimal, 64 characters or more (at most 200).
bool valid_device_token(std::string_view token);

/// apns-id wants a canonical UUID: the request_id when it is one (it then identifies the push end to end).
bool is_uuid(std::string_view text);

}  // namespace notify::apns
