#pragma once
// What one webhook call's answer means for its notification.

#include <notify/http/http_types.hpp>
#include <notify/notification.hpp>

#include <chrono>
#include <string_view>

namespace notify::webhook {

/// 2xx → delivered (reference: the webhook-id); 408 and 429 → retryable, after Retry-After if given; other 4xx →
/// rejected; 5xx → retryable (Retry-After honoured); anything else (1xx, 3xx: redirects are not followed) →
/// rejected. A failed call is retryable, its reason saying whether the receiver may already have it.
DeliveryResult map_result(const http::HttpResult& result, std::string_view webhook_id,
                          std::chrono::system_clock::time_point now);

}  // namespace notify::webhook
