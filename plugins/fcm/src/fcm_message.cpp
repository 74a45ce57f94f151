#include "fcm_message.hpp"

#include <Poco/JSON/Object.h>

#include <sstream>

namespace notify::fcm {
namespace {

bool reserved_data_key(std::string_view key) {
  return key == "from" || key == "notification" || key == "message_type" || key.starts_with("google.") ||
         key.starts_with("gcm.");
}

}  // namespace

Result<std::string> build_message(const Notification& n, std::string_view target, TargetKind kind) {
  const std::string what = "notification " + n.request_id;
  if (target.empty()) return Error{Errc::invalid_argument, what + ": empty FCM target"};
  Poco::JSON::Object message;
  switch (kind) {
    case TargetKind::token:
      message.set("token", std::string(target));
      break;
    case TargetKind::topic:
      // FCM wants the bare name; "/topics/news" is the legacy API's spelling.
      message.set("topic", std::string(target.starts_with("/topics/") ? target.substr(8) : target));
      break;
    case TargetKind::condition:
      message.set("condition", std::string(target));
      break;
  }
  if (!n.title.empty() || !n.message.empty()) {
    Poco::JSON::Object notification;
    if (!n.title.empty()) notification.set("title", n.title);
    if (!n.message.empty()) notification.set("body", n.message);
    message.set("notification", notification);
  }
  if (!n.custom_data.empty()) {
    Poco::JSON::Object data;
    for (const auto& [key, value] : n.custom_data) {
      if (reserved_data_key(key))
        return Error{Errc::invalid_argument, what + ": data key '" + key + "' is reserved by FCM"};
      data.set(key, value);
    }
    message.set("data", data);
  }
  Poco::JSON::Object root;
  root.set("message", message);
  std::ostringstream os;
  root.stringify(os);
  std::string body = os.str();
  if (body.size() > kMaxMessageBytes) {
    return Error{Errc::invalid_argument, what + ": FCM message is " + std::to_string(body.size()) +
                                             " bytes; FCM allows " + std::to_string(kMaxMessageBytes)};
  }
  return body;
}

}  // namespace notify::fcm
