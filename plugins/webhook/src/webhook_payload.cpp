#include "webhook_payload.hpp"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Timestamp.h>

#include <sstream>

namespace notify::webhook {

Result<std::string> build_payload(const Notification& n, std::chrono::system_clock::time_point now) {
  if (n.request_id.empty()) {
    return Error{Errc::invalid_argument, "notification has no request_id (it is the webhook-id receivers dedupe on)"};
  }
  Poco::JSON::Object data;
  data.set("request_id", n.request_id);
  Poco::JSON::Array users;
  for (const auto& u : n.external_user_ids) users.add(u);
  data.set("external_user_ids", users);
  data.set("title", n.title);
  data.set("message", n.message);
  Poco::JSON::Object custom;
  for (const auto& [k, v] : n.custom_data) custom.set(k, v);
  data.set("custom_data", custom);
  if (!n.trigger_properties_json.empty()) {
    try {
      Poco::JSON::Parser parser;
      auto parsed = parser.parse(n.trigger_properties_json);
      data.set("trigger_properties", parsed.extract<Poco::JSON::Object::Ptr>());  // throws unless an object
    } catch (const Poco::Exception&) {
      return Error{Errc::invalid_argument,
                   "notification " + n.request_id + ": trigger_properties_json is not a JSON object"};
    } catch (const std::exception&) {
      return Error{Errc::invalid_argument,
                   "notification " + n.request_id + ": trigger_properties_json is not a JSON object"};
    }
  }
  if (!n.campaign_id.empty()) data.set("campaign_id", n.campaign_id);
  if (!n.canvas_id.empty()) data.set("canvas_id", n.canvas_id);
  // The push fields, each only when the notification has it (so a user-only notification's body is as before).
  if (!n.device_tokens.empty()) {
    Poco::JSON::Array tokens;
    for (const auto& t : n.device_tokens) tokens.add(t);
    data.set("device_tokens", tokens);
  }
  if (!n.topic.empty()) data.set("topic", n.topic);
  if (!n.condition.empty()) data.set("condition", n.condition);
  if (n.ttl.count() > 0) data.set("ttl", static_cast<Poco::Int64>(n.ttl.count()));
  if (n.priority != Priority::unset) data.set("priority", n.priority == Priority::high ? "high" : "normal");
  if (!n.collapse_key.empty()) data.set("collapse_key", n.collapse_key);

  Poco::JSON::Object root;
  root.set("type", kEventType);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  root.set("timestamp", Poco::DateTimeFormatter::format(Poco::Timestamp(micros), Poco::DateTimeFormat::ISO8601_FORMAT));
  root.set("data", data);
  std::ostringstream os;
  root.stringify(os);
  return os.str();
}

}  // namespace notify::webhook
