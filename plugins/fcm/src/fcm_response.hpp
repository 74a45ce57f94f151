#pragma once
// What an FCM v1 messages:send answer means for the notification it carried.

#include <notify/http/http_types.hpp>
#include <notify/notification.hpp>

#include <chrono>

namespace notify::fcm {

struct SendOutcome {
  DeliveryResult result;
  /// FCM refused our access token (401 other than THIRD_PARTY_AUTH_ERROR): the caller drops its cached token.
  bool token_refused = false;
  /// UNREGISTERED (or a bare 404): the registration token is invalid or expired; `result` is rejected. Google
  /// documents only this code as the sign to drop a token (INVALID_ARGUMENT may be the payload's fault).
  bool invalid_token = false;
};

/// 2xx → delivered (reference: the message "name"). By FCM's error code (details[].errorCode, else error.status, else
/// the HTTP status): UNREGISTERED/404 → rejected as an invalid token; INVALID_ARGUMENT/400, SENDER_ID_MISMATCH/403,
/// THIRD_PARTY_AUTH_ERROR → rejected; QUOTA_EXCEEDED/429, UNAVAILABLE/503, INTERNAL/500 and other 5xx → retryable
/// after Retry-After; 401 → retryable with a fresh token; other 4xx → rejected. A failed call is retryable.
SendOutcome map_send_result(const http::HttpResult& result, std::chrono::system_clock::time_point now);

}  // namespace notify::fcm
