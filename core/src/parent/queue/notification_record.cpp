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

// Version 2 and 1 write every field of theirs, so each must be there; the unversioned records left the optional ones
// out.
enum class Presence { all, v1, legacy };

const char* priority_name(Priority p) {
  switch (p) {
    case Priority::normal:
      return "normal";
    case Priority::high:
      return "high";
    case Priority::unset:
      break;
  }
  return "";
}

std::vector<std::string> text_list(const Object& o, const std::string& key) {
  if (!o.has(key) || o.get(key).type() != typeid(Array::Ptr)) throw Corrupt{key + ": expected an array"};
  const auto items = o.getArray(key);
  std::vector<std::string> out;
  out.reserve(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) {
    const auto v = items->get(static_cast<unsigned>(i));
    if (!v.isString()) throw Corrupt{key + "[" + std::to_string(i) + "]: expected a string"};
    out.push_back(v.extract<std::string>());
  }
  return out;
}

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
  const bool all = presence != Presence::legacy;
  Notification n;
  n.request_id = text(o, "request_id", true);
  n.external_user_ids = text_list(o, "external_user_ids");
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
  if (presence == Presence::all) {
    n.device_tokens = text_list(o, "device_tokens");
    n.topic = text(o, "topic", true);
    const auto ttl = o.get("ttl_s");
    if (!ttl.isInteger() || ttl.convert<std::int64_t>() < 0) throw Corrupt{"ttl_s: expected a whole number"};
    n.ttl = std::chrono::seconds(ttl.convert<std::int64_t>());
    const auto priority = text(o, "priority", true);
    if (priority == "high") {
      n.priority = Priority::high;
    } else if (priority == "normal") {
      n.priority = Priority::normal;
    } else if (!priority.empty()) {
      throw Corrupt{"priority: expected high, normal or empty"};
    }
    n.collapse_key = text(o, "collapse_key", true);
    n.condition = text(o, "condition", true);
  }
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
  Array tokens;
  for (const auto& t : n.device_tokens) tokens.add(t);
  o.set("device_tokens", tokens);
  o.set("topic", n.topic);
  o.set("ttl_s", static_cast<Poco::Int64>(n.ttl.count()));
  o.set("priority", std::string(priority_name(n.priority)));
  o.set("collapse_key", n.collapse_key);
  o.set("condition", n.condition);
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
    if (version == 1) return from_json(*o, Presence::v1);
    if (version != kNotificationRecordVersion) {
      throw Corrupt{"version " + std::to_string(version) + " is not one this build reads (1, " +
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

std::string encode_token_states(std::span<const TokenResult> states) {
  if (states.empty()) return {};
  Array a;
  for (const auto& t : states) {
    Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    o.set("token", t.token);
    o.set("outcome", std::string(token_outcome_name(t.outcome)));
    o.set("reference", t.reference);
    o.set("reason", t.reason);
    a.add(o);
  }
  std::ostringstream os;
  a.stringify(os);
  return os.str();
}

Result<std::vector<TokenResult>> decode_token_states(std::string_view text_in) {
  std::vector<TokenResult> out;
  if (text_in.empty()) return out;
  try {
    Poco::JSON::Parser parser;
    const auto parsed = parser.parse(std::string(text_in));
    if (parsed.type() != typeid(Array::Ptr)) throw Corrupt{"not a JSON array"};
    const auto& a = parsed.extract<Array::Ptr>();
    for (std::size_t i = 0; i < a->size(); ++i) {
      const auto o = a->getObject(static_cast<unsigned>(i));
      if (!o) throw Corrupt{"[" + std::to_string(i) + "]: expected an object"};
      TokenResult t;
      t.token = text(*o, "token", true);
      const auto outcome = text(*o, "outcome", true);
      bool known = false;
      for (auto candidate :
           {TokenOutcome::delivered, TokenOutcome::rejected, TokenOutcome::retryable, TokenOutcome::invalid_token}) {
        if (outcome == token_outcome_name(candidate)) {
          t.outcome = candidate;
          known = true;
        }
      }
      if (!known) throw Corrupt{"[" + std::to_string(i) + "].outcome: unknown"};
      t.reference = text(*o, "reference", true);
      t.reason = text(*o, "reason", true);
      out.push_back(std::move(t));
    }
    return out;
  } catch (const Corrupt& e) {
    return Error{Errc::protocol_error, "token states: " + e.message};
  } catch (const Poco::Exception& e) {
    return Error{Errc::protocol_error, "token states: invalid JSON: " + e.message()};
  } catch (const std::exception& e) {
    return Error{Errc::protocol_error, std::string("token states: ") + e.what()};
  }
}

}  // namespace notify::delivery
