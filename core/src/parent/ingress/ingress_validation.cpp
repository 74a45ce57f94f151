#include "parent/ingress/ingress_validation.hpp"

#include "parent/callbacks/callback_url.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cctype>
#include <set>
#include <sstream>

namespace notify::services {
namespace {

constexpr std::size_t kMaxCustomDataKeys = 100;

using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr std::size_t kMaxBatch = 500;
constexpr std::size_t kMaxRecipients = 50;
constexpr std::size_t kMaxDeviceTokens = 50;
constexpr std::size_t kMaxTokenBytes = 1024;  // FCM registration tokens are ~160 bytes, APNs tokens 64 hex digits
constexpr std::size_t kMaxTopicBytes = 900;
constexpr std::size_t kMaxConditionBytes = 1024;    // FCM: at most five topics joined by && and ||
constexpr std::int64_t kMaxTtlSeconds = 2'419'200;  // 28 days: FCM's maximum (APNs has none of its own)
constexpr std::size_t kMaxCollapseKeyBytes = 64;    // APNs' apns-collapse-id limit

struct Invalid {
  std::string message;
};

std::string at(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

std::string string_field(const Object& o, const std::string& path, const std::string& key, bool required) {
  if (!o.has(key) || o.get(key).isEmpty()) {
    if (required) throw Invalid{at(path, key) + ": is required"};
    return {};
  }
  const auto v = o.get(key);
  if (!v.isString()) throw Invalid{at(path, key) + ": must be a string"};
  return v.toString();
}

Notification parse_one(const Object& o, const std::string& path, bool allow_callback_url,
                       std::vector<std::string>& callback_urls) {
  static const std::set<std::string> known = {"request_id",
                                              "external_user_id",
                                              "external_user_ids",
                                              "device_tokens",
                                              "topic",
                                              "condition",
                                              "ttl",
                                              "priority",
                                              "collapse_key",
                                              "title",
                                              "message",
                                              "custom_data",
                                              "trigger_properties",
                                              "provider",
                                              "campaign_id",
                                              "canvas_id",
                                              "callback_url"};
  for (const auto& [key, value] : o) {
    if (known.count(key) == 0) throw Invalid{at(path, key) + ": unknown field"};
  }
  Notification n;
  n.request_id = string_field(o, path, "request_id", true);
  if (n.request_id.size() > 128) throw Invalid{at(path, "request_id") + ": longer than 128 characters"};
  for (char c : n.request_id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' || c == '-')) {
      throw Invalid{at(path, "request_id") + ": only letters, digits and . _ : - are allowed"};
    }
  }
  const bool one = o.has("external_user_id");
  const bool many = o.has("external_user_ids");
  if (one && many)
    throw Invalid{at(path, "external_user_id") + ": give exactly one of external_user_id, external_user_ids"};
  if (!one && !many && !o.has("device_tokens") && !o.has("topic") && !o.has("condition")) {
    throw Invalid{at(path, "external_user_id") +
                  ": give a recipient: external_user_id, external_user_ids, device_tokens, topic or condition"};
  }
  if (!one && !many) {
    // no user recipients: device tokens or a topic, below
  } else if (one) {
    n.external_user_ids = {string_field(o, path, "external_user_id", true)};
  } else {
    const auto v = o.get("external_user_ids");
    if (v.type() != typeid(Array::Ptr))
      throw Invalid{at(path, "external_user_ids") + ": must be a non-empty array of strings"};
    auto a = v.extract<Array::Ptr>();
    if (a->size() == 0 || a->size() > kMaxRecipients) {
      throw Invalid{at(path, "external_user_ids") + ": must hold 1 to 50 recipients"};
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      const auto e = a->get(static_cast<unsigned>(i));
      if (!e.isString() || e.toString().empty()) {
        throw Invalid{at(path, "external_user_ids") + "[" + std::to_string(i) + "]: must be a non-empty string"};
      }
      n.external_user_ids.push_back(e.toString());
    }
  }
  for (const auto& u : n.external_user_ids) {
    if (u.empty()) throw Invalid{at(path, "external_user_id") + ": must not be empty"};
  }
  if (o.has("device_tokens")) {
    const auto v = o.get("device_tokens");
    if (v.type() != typeid(Array::Ptr))
      throw Invalid{at(path, "device_tokens") + ": must be a non-empty array of strings"};
    auto a = v.extract<Array::Ptr>();
    if (a->size() == 0 || a->size() > kMaxDeviceTokens) {
      throw Invalid{at(path, "device_tokens") + ": must hold 1 to " + std::to_string(kMaxDeviceTokens) + " tokens"};
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string where = at(path, "device_tokens") + "[" + std::to_string(i) + "]";
      const auto e = a->get(static_cast<unsigned>(i));
      if (!e.isString() || e.toString().empty()) throw Invalid{where + ": must be a non-empty string"};
      auto token = e.toString();
      if (token.size() > kMaxTokenBytes) {
        throw Invalid{where + ": longer than " + std::to_string(kMaxTokenBytes) + " characters"};
      }
      for (char c : token) {
        if (c < '!' || c > '~') throw Invalid{where + ": only printable ASCII without spaces is allowed"};
      }
      for (std::size_t j = 0; j < n.device_tokens.size(); ++j) {
        if (n.device_tokens[j] == token) {
          throw Invalid{where + ": the same token as device_tokens[" + std::to_string(j) + "]"};
        }
      }
      n.device_tokens.push_back(std::move(token));
    }
  }
  n.topic = string_field(o, path, "topic", false);
  if (o.has("topic")) {
    if (n.topic.empty() || n.topic.size() > kMaxTopicBytes) {
      throw Invalid{at(path, "topic") + ": must be 1 to " + std::to_string(kMaxTopicBytes) + " characters"};
    }
    for (char c : n.topic) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~' || c == '%')) {
        throw Invalid{at(path, "topic") + ": only letters, digits and - _ . ~ % are allowed (no /topics/ prefix)"};
      }
    }
    if (!n.device_tokens.empty()) {
      throw Invalid{at(path, "topic") + ": give either topic or device_tokens (a topic is one target of its own)"};
    }
  }
  n.condition = string_field(o, path, "condition", false);
  if (o.has("condition")) {
    if (n.condition.empty() || n.condition.size() > kMaxConditionBytes) {
      throw Invalid{at(path, "condition") + ": must be 1 to " + std::to_string(kMaxConditionBytes) + " characters"};
    }
    if (!n.device_tokens.empty() || !n.topic.empty()) {
      throw Invalid{at(path, "condition") +
                    ": give one of condition, topic or device_tokens (a condition is one target of its own)"};
    }
  }
  if (o.has("ttl")) {
    const auto v = o.get("ttl");
    if (!v.isInteger() || v.convert<std::int64_t>() < 0 || v.convert<std::int64_t>() > kMaxTtlSeconds) {
      throw Invalid{at(path, "ttl") + ": must be whole seconds from 0 to " + std::to_string(kMaxTtlSeconds) +
                    " (28 days; 0 = the provider's default)"};
    }
    n.ttl = std::chrono::seconds(v.convert<std::int64_t>());
  }
  if (o.has("priority")) {
    const auto p = string_field(o, path, "priority", true);
    if (p == "high") {
      n.priority = Priority::high;
    } else if (p == "normal") {
      n.priority = Priority::normal;
    } else {
      throw Invalid{at(path, "priority") + ": must be \"high\" or \"normal\""};
    }
  }
  n.collapse_key = string_field(o, path, "collapse_key", false);
  if (n.collapse_key.size() > kMaxCollapseKeyBytes) {
    throw Invalid{at(path, "collapse_key") + ": longer than " + std::to_string(kMaxCollapseKeyBytes) + " bytes"};
  }
  n.title = string_field(o, path, "title", false);
  n.message = string_field(o, path, "message", true);
  if (o.has("custom_data")) {
    const auto v = o.get("custom_data");
    if (v.type() != typeid(Object::Ptr)) throw Invalid{at(path, "custom_data") + ": must be an object of strings"};
    // The link bounds a deliver's JSON elements (the enclave's memory), and providers' payload limits are a few KB.
    if (v.extract<Object::Ptr>()->size() > kMaxCustomDataKeys) {
      throw Invalid{at(path, "custom_data") + ": more than " + std::to_string(kMaxCustomDataKeys) + " keys"};
    }
    for (const auto& [k, value] : *v.extract<Object::Ptr>()) {
      if (!value.isString()) throw Invalid{at(path, "custom_data." + k) + ": must be a string"};
      n.custom_data[k] = value.toString();
    }
  }
  if (o.has("trigger_properties")) {
    const auto v = o.get("trigger_properties");
    if (v.type() != typeid(Object::Ptr)) throw Invalid{at(path, "trigger_properties") + ": must be an object"};
    std::ostringstream os;
    v.extract<Object::Ptr>()->stringify(os);
    n.trigger_properties_json = os.str();
  }
  n.provider = string_field(o, path, "provider", false);
  n.campaign_id = string_field(o, path, "campaign_id", false);
  n.canvas_id = string_field(o, path, "canvas_id", false);
  // Not part of the notification (the SDK's struct, which crosses the plugin ABI): the parent keeps it beside.
  auto url = string_field(o, path, "callback_url", false);
  if (!url.empty()) {
    if (!allow_callback_url) {
      throw Invalid{at(path, "callback_url") + ": not allowed here (callbacks.allow_per_notification_url is off)"};
    }
    if (auto checked = callbacks::parse_callback_url(url); !checked) {
      throw Invalid{at(path, "callback_url") + ": " + checked.error().message};
    }
  }
  callback_urls.push_back(std::move(url));
  return n;
}

}  // namespace

Result<std::vector<Notification>> parse_notifications(std::string_view body) {
  auto parsed = parse_submission(body, false);
  if (!parsed) return parsed.error();
  return std::move(parsed->notifications);
}

Result<Submission> parse_submission(std::string_view body, bool allow_callback_url) {
  Poco::Dynamic::Var root;
  try {
    root = Poco::JSON::Parser().parse(std::string(body));
  } catch (const Poco::Exception& e) {
    return Error{Errc::invalid_argument, "body: invalid JSON: " + e.message()};
  }
  if (root.type() != typeid(Object::Ptr)) return Error{Errc::invalid_argument, "body: must be a JSON object"};
  auto o = root.extract<Object::Ptr>();
  Submission sub;
  auto& out = sub.notifications;
  try {
    if (o->has("notifications")) {
      if (o->size() != 1) throw Invalid{"body: with notifications, no other top-level field is allowed"};
      const auto v = o->get("notifications");
      if (v.type() != typeid(Array::Ptr)) throw Invalid{"notifications: must be an array"};
      auto a = v.extract<Array::Ptr>();
      if (a->size() == 0 || a->size() > kMaxBatch) throw Invalid{"notifications: must hold 1 to 500 notifications"};
      for (std::size_t i = 0; i < a->size(); ++i) {
        const std::string path = "notifications[" + std::to_string(i) + "]";
        const auto e = a->get(static_cast<unsigned>(i));
        if (e.type() != typeid(Object::Ptr)) throw Invalid{path + ": must be an object"};
        out.push_back(parse_one(*e.extract<Object::Ptr>(), path, allow_callback_url, sub.callback_urls));
      }
    } else {
      out.push_back(parse_one(*o, "", allow_callback_url, sub.callback_urls));
    }
  } catch (const Invalid& e) {
    return Error{Errc::invalid_argument, e.message};
  } catch (const Poco::Exception& e) {
    return Error{Errc::invalid_argument, "body: " + e.displayText()};
  }
  return sub;
}

}  // namespace notify::services
