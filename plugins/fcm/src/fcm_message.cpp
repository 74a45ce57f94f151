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
  if (n.ttl.count() > 0 || n.priority != Priority::unset || !n.collapse_key.empty()) {
    Poco::JSON::Object android;
    if (n.ttl.count() > 0) android.set("ttl", std::to_string(n.ttl.count()) + "s");
    if (n.priority != Priority::unset) android.set("priority", n.priority == Priority::high ? "HIGH" : "NORMAL");
    if (!n.collapse_key.empty()) android.set("collapse_key", n.collapse_key);
    message.set("android", android);
  }
  if (n.priority != Priority::unset) {
    // FCM relays to APNs for iOS devices: the same urgency there (10 at once, 5 power-considerate).
    Poco::JSON::Object headers;
    headers.set("apns-priority", n.priority == Priority::high ? "10" : "5");
    Poco::JSON::Object apns;
    apns.set("headers", headers);
    message.set("apns", apns);
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
