#pragma once
// What an APNs answer means for the notification it carried.

#include <notify/http/http_types.hpp>
#include <notify/notification.hpp>

#include <chrono>

namespace notify::apns {

struct SendOutcome {
  DeliveryResult result;
  bool token_expired = false;  ///< ExpiredProviderToken: the caller makes a new provider token and retries
  bool invalid_token = false;  ///< 410 Unregistered or 400 BadDeviceToken: `result` is rejected; drop the token
};

/// 200 → delivered (reference: the apns-id header). By the body's "reason": BadDeviceToken (400), Unregistered
/// (410) → rejected as an invalid device token; DeviceTokenNotForTopic → rejected (the token may be another app's,
/// e.g. sent to the wrong instance: not a sign to drop it); ExpiredProviderToken (403) → retryable with a new token;
/// TooManyRequests (429), InternalServerError (500), ServiceUnavailable (503), Shutdown → retryable after Retry-After;
/// any other 4xx (BadTopic, PayloadTooLarge, InvalidProviderToken, ...) → rejected. A failed call is retryable.
SendOutcome map_result(const http::HttpResult& result, std::chrono::system_clock::time_point now);

}  // namespace notify::apns
