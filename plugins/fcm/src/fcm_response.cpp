#include "fcm_response.hpp"

#include <notify/http/retry_after.hpp>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <string>

namespace notify::fcm {
namespace {

struct FcmError {
  std::string code;  // errorCode, else status
  std::string message;
};

// {"error": {"code": 404, "message": "...", "status": "NOT_FOUND",
//            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode":
//            "UNREGISTERED"}]}}
FcmError parse_error(const std::string& body) {
  FcmError out;
  try {
    Poco::JSON::Parser parser;
    auto root = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    auto error = root->getObject("error");
    if (!error) return out;
    out.message = error->optValue<std::string>("message", "");
    out.code = error->optValue<std::string>("status", "");
    if (auto details = error->getArray("details")) {
      for (std::size_t i = 0; i < details->size(); ++i) {
        auto d = details->getObject(static_cast<unsigned>(i));
        if (d && d->has("errorCode")) out.code = d->optValue<std::string>("errorCode", out.code);
      }
    }
  } catch (const std::exception&) {
    // Not JSON (a proxy's page): the HTTP status decides.
  }
  if (out.message.size() > 300) out.message = out.message.substr(0, 300) + "...";
  return out;
}

}  // namespace

SendOutcome map_send_result(const http::HttpResult& result, std::chrono::system_clock::time_point now) {
  if (!result.ok()) return {DeliveryResult::retryable(result.failure.message), false};
  const auto& r = *result.response;
  if (r.status >= 200 && r.status < 300) {
    std::string name;
    try {
      Poco::JSON::Parser parser;
      name = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>()->optValue<std::string>("name", "");
    } catch (const std::exception&) {
      // Delivered all the same; only the reference is missing.
    }
    return {DeliveryResult::delivered(name), false};
  }
  const auto e = parse_error(r.body);
  const std::string reason = "FCM answered HTTP " + std::to_string(r.status) + (e.code.empty() ? "" : " " + e.code) +
                             (e.message.empty() ? "" : ": " + e.message);
  const auto wait = http::retry_after(r, now).value_or(std::chrono::milliseconds(0));
  if (e.code == "UNREGISTERED" || (e.code.empty() && r.status == 404)) {
    return {DeliveryResult::rejected(reason + " (the registration token is invalid or expired)"), false, true};
  }
  if (e.code == "INVALID_ARGUMENT" || e.code == "SENDER_ID_MISMATCH" || e.code == "THIRD_PARTY_AUTH_ERROR") {
    return {DeliveryResult::rejected(reason), false};
  }
  if (e.code == "QUOTA_EXCEEDED" || e.code == "UNAVAILABLE" || e.code == "INTERNAL" || r.status == 429 ||
      r.status >= 500) {
    return {DeliveryResult::retryable(reason, wait), false};
  }
  if (r.status == 401)
    return {DeliveryResult::retryable(reason + " (access token refused; a new one is fetched)"), true};
  return {DeliveryResult::rejected(reason), false};
}

}  // namespace notify::fcm
