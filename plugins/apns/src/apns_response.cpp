#include "apns_response.hpp"

#include <notify/http/retry_after.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

namespace notify::apns {

SendOutcome map_result(const http::HttpResult& result, std::chrono::system_clock::time_point now) {
  if (!result.ok()) return {DeliveryResult::retryable(result.failure.message), false};
  const auto& r = *result.response;
  if (r.status == 200) return {DeliveryResult::delivered(r.header("apns-id").value_or("")), false};
  std::string reason;
  try {
    Poco::JSON::Parser parser;
    reason = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>()->optValue<std::string>("reason", "");
  } catch (const std::exception&) {
    // Not JSON: the status decides.
  }
  if (reason.size() > 100) reason.resize(100);
  const std::string what = "APNs answered HTTP " + std::to_string(r.status) + (reason.empty() ? "" : " " + reason);
  const auto wait = http::retry_after(r, now).value_or(std::chrono::milliseconds(0));
  if (reason == "BadDeviceToken" || reason == "Unregistered" || r.status == 410) {
    return {DeliveryResult::rejected(what + " (the device token is invalid)"), false, true};
  }
  if (reason == "DeviceTokenNotForTopic") {
    return {DeliveryResult::rejected(what + " (the device token belongs to another topic)"), false};
  }
  if (reason == "ExpiredProviderToken") {
    return {DeliveryResult::retryable(what + " (a new provider token is made)"), true};
  }
  if (reason == "TooManyRequests" || reason == "Shutdown" || r.status == 429 || r.status >= 500) {
    return {DeliveryResult::retryable(what, wait), false};
  }
  return {DeliveryResult::rejected(what), false};
}

}  // namespace notify::apns
