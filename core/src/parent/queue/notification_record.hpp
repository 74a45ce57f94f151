#pragma once
// How the queue stores one notification: its own versioned record, JSON with a "v" field and every Notification
// field, independent of the link's wire codec, so that a change of the protocol is not a migration of the storage.
// Both backends (SQLite, Redis) store these. Records written before the record had a version (the link's notification
// JSON, no "v") are still read, so a queue survives the upgrade that introduced this.

#include <notify/notification.hpp>
#include <notify/result.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace notify::delivery {

/// The version encode_notification_record() writes. A record with a higher one is refused (written by a newer build).
/// 2 added device_tokens, topic, ttl_s, priority, collapse_key and condition (a version 1 record reads with them
/// empty).
inline constexpr int kNotificationRecordVersion = 2;

std::string encode_notification_record(const Notification& n);

/// A stored record, of this version or the unversioned one before it. A corrupt record gives Errc::protocol_error
/// naming what is wrong ("notification record: title: expected a string"); never its contents.
Result<Notification> decode_notification_record(std::string_view text);

/// The per-token states stored beside a record (notification_queue.hpp), as a JSON array of
/// {"token", "outcome", "reference", "reason"}; empty text is no states.
std::string encode_token_states(std::span<const TokenResult> states);
Result<std::vector<TokenResult>> decode_token_states(std::string_view text);

}  // namespace notify::delivery
