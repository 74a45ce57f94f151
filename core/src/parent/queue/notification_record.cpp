#include "parent/queue/notification_record.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sstream>

namespace notify::delivery {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

// Thrown inside this file only and turned into one Result by decode_notification_record.
struct Corrupt {
  std::string message;
};

// Version 1 writes every field, so each must be there; the unversioned records left the optional ones out.
enum class Presence { all, legacy };

std::string text(const Object& o, const std::string& key, bool required) {
  if (!o.has(key)) {
    if (required) throw Corrupt{key + ": missing"};
    return {};
  }
  const auto v = o.get(key);
  if (!v.isString()) throw Corrupt{key + ": expected a string"};
  return v.extract<std::string>();
}

Notification from_json(const Object& o, Presence presence) {
  const bool all = presence == Presence::all;
  Notification n;
  n.request_id = text(o, "request_id", true);
  if (!o.has("external_user_ids") || o.get("external_user_ids").type() != typeid(Array::Ptr)) {
    throw Corrupt{"external_user_ids: expected an array"};
  }
  const auto users = o.getArray("external_user_ids");
  for (std::size_t i = 0; i < users->size(); ++i) {
    const auto v = users->get(static_cast<unsigned>(i));
    if (!v.isString()) throw Corrupt{"external_user_ids[" + std::to_string(i) + "]: expected a string"};
    n.external_user_ids.push_back(v.extract<std::string>());
  }
  n.title = text(o, "title", true);
  n.message = text(o, "message", true);
  if (o.has("custom_data")) {
    if (o.get("custom_data").type() != typeid(Object::Ptr)) throw Corrupt{"custom_data: expected an object"};
    for (const auto& [k, v] : *o.getObject("custom_data")) {
      if (!v.isString()) throw Corrupt{"custom_data." + k + ": expected a string"};
      n.custom_data[k] = v.extract<std::string>();
    }
  } else if (all) {
    throw Corrupt{"custom_data: missing"};
  }
  n.trigger_properties_json = text(o, "trigger_properties_json", all);
  n.provider = text(o, "provider", all);
  n.campaign_id = text(o, "campaign_id", all);
  n.canvas_id = text(o, "canvas_id", all);
  return n;
}

}  // namespace

std::string encode_notification_record(const Notification& n) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("v", kNotificationRecordVersion);
  o.set("request_id", n.request_id);
  Array users;
  for (const auto& u : n.external_user_ids) users.add(u);
  o.set("external_user_ids", users);
  o.set("title", n.title);
  o.set("message", n.message);
  Object custom(Poco::JSON_PRESERVE_KEY_ORDER);
  for (const auto& [k, v] : n.custom_data) custom.set(k, v);
  o.set("custom_data", custom);
  o.set("trigger_properties_json", n.trigger_properties_json);
  o.set("provider", n.provider);
  o.set("campaign_id", n.campaign_id);
  o.set("canvas_id", n.canvas_id);
  std::ostringstream os;
  o.stringify(os);
  return os.str();
}

Result<Notification> decode_notification_record(std::string_view record) {
  try {
    Poco::JSON::Parser parser;
    const auto parsed = parser.parse(std::string(record));
    if (parsed.type() != typeid(Object::Ptr)) throw Corrupt{"not a JSON object"};
    const auto& o = parsed.extract<Object::Ptr>();
    if (!o->has("v")) return from_json(*o, Presence::legacy);  // written before records had a version
    const auto v = o->get("v");
    if (!v.isInteger()) throw Corrupt{"v: expected an integer"};
    const auto version = v.convert<std::int64_t>();
    if (version != kNotificationRecordVersion) {
      throw Corrupt{"version " + std::to_string(version) + " is not one this build reads (" +
                    std::to_string(kNotificationRecordVersion) + ")"};
    }
    return from_json(*o, Presence::all);
  } catch (const Corrupt& e) {
    return Error{Errc::protocol_error, "notification record: " + e.message};
  } catch (const Poco::Exception& e) {
    return Error{Errc::protocol_error, "notification record: invalid JSON: " + e.message()};
  } catch (const std::exception& e) {
    return Error{Errc::protocol_error, std::string("notification record: ") + e.what()};
  }
}

}  // namespace notify::delivery
