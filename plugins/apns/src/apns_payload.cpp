#include "apns_payload.hpp"

#include <Poco/JSON/Object.h>

#include <cctype>
#include <sstream>

namespace notify::apns {

Result<std::string> build_payload(const Notification& n) {
  const std::string what = "notification " + n.request_id;
  Poco::JSON::Object alert;
  if (!n.title.empty()) alert.set("title", n.title);
  if (!n.message.empty()) alert.set("body", n.message);
  Poco::JSON::Object aps;
  aps.set("alert", alert);
  Poco::JSON::Object root;
  root.set("aps", aps);
  for (const auto& [key, value] : n.custom_data) {
    if (key == "aps") return Error{Errc::invalid_argument, what + ": custom_data key 'aps' is Apple's"};
    root.set(key, value);
  }
  std::ostringstream os;
  root.stringify(os);
  std::string body = os.str();
  if (body.size() > kMaxPayloadBytes) {
    return Error{Errc::invalid_argument, what + ": APNs payload is " + std::to_string(body.size()) +
                                             " bytes; APNs allows " + std::to_string(kMaxPayloadBytes)};
  }
  return body;
}

bool valid_device_token(std::string_view token) {
  if (token.size() < 64 || token.size() > 200) return false;
  for (char c : token) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return false;
  }
  return true;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : std::isxdigit(static_cast<unsigned char>(text[i])) == 0) return false;
  }
  return true;
}

}  // namespace notify::apns
