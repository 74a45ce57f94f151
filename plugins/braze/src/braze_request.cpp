#include "braze_request.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <map>
#include <sstream>

namespace notify::braze {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

std::string stringify(const Object::Ptr& o) {
  std::ostringstream os;
  o->stringify(os);
  return os.str();
}

Object::Ptr extra_of(const Notification& n) {
  Object::Ptr extra = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  for (const auto& [k, v] : n.custom_data) extra->set(k, v);
  return extra;
}

Object::Ptr apple_push(const Notification& n) {
  Object::Ptr alert = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  alert->set("title", n.title);
  alert->set("body", n.message);
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("alert", alert);
  if (!n.custom_data.empty()) o->set("extra", extra_of(n));
  return o;
}

Object::Ptr android_push(const Notification& n) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("title", n.title);
  o->set("alert", n.message);
  if (!n.custom_data.empty()) o->set("extra", extra_of(n));
  return o;
}

enum class Kind { messages, campaign, canvas };

struct Group {
  Kind kind;
  std::string target_id;  // campaign or canvas id
  const Notification* sample = nullptr;
  std::vector<std::size_t> members;
};

// Notifications merge only when Braze would send them the same content.
std::string group_key(const Notification& n, Kind kind, const std::string& target) {
  std::ostringstream key;
  key << static_cast<int>(kind) << '\x1f' << target << '\x1f';
  if (kind == Kind::messages) {
    key << n.title << '\x1f' << n.message << '\x1f';
    for (const auto& [k, v] : n.custom_data) key << k << '\x1e' << v << '\x1f';
  }
  return key.str();
}

Object::Ptr properties_of(const Notification& n) {
  if (n.trigger_properties_json.empty()) return nullptr;
  auto v = Poco::JSON::Parser().parse(n.trigger_properties_json);
  return v.extract<Object::Ptr>();
}

void emit_call(BuildResult& out, const Group& g, const std::vector<std::pair<std::size_t, std::string>>& recipients,
               std::span<const Notification> batch, const ContentOptions& options) {
  BrazeCall call;
  Object::Ptr body = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  if (g.kind == Kind::messages) {
    call.path = "/messages/send";
    Array::Ptr ids = new Array();
    for (const auto& [idx, user] : recipients) ids->add(user);
    body->set("external_user_ids", ids);
    Object::Ptr messages = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    // Every member of the group has the same content; the first one speaks for all.
    if (options.apple) messages->set("apple_push", apple_push(*g.sample));
    if (options.android) messages->set("android_push", android_push(*g.sample));
    body->set("messages", messages);
  } else {
    call.path = g.kind == Kind::campaign ? "/campaigns/trigger/send" : "/canvas/trigger/send";
    body->set(g.kind == Kind::campaign ? "campaign_id" : "canvas_id", g.target_id);
    Array::Ptr list = new Array();
    for (const auto& [idx, user] : recipients) {
      Object::Ptr r = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
      r->set("external_user_id", user);
      if (auto props = properties_of(batch[idx])) {
        r->set(g.kind == Kind::campaign ? "trigger_properties" : "canvas_entry_properties", props);
      }
      list->add(r);
    }
    body->set("recipients", list);
  }
  for (const auto& [idx, user] : recipients) {
    if (call.notifications.empty() || call.notifications.back() != idx) call.notifications.push_back(idx);
    call.recipients.push_back(user);
  }
  call.body = stringify(body);
  out.calls.push_back(std::move(call));
}

}  // namespace

std::string apple_push_json(const Notification& n) { return stringify(apple_push(n)); }
std::string android_push_json(const Notification& n) { return stringify(android_push(n)); }

BuildResult build_calls(std::span<const Notification> batch, const ContentOptions& options) {
  BuildResult out;
  out.refused.resize(batch.size());
  std::vector<Group> groups;
  std::map<std::string, std::size_t> index_of;

  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& n = batch[i];
    if (!n.device_tokens.empty() || !n.topic.empty() || !n.condition.empty()) {
      // Braze sends to its users, not to raw device tokens or FCM topics: pushing to the users alone would drop the
      // other recipients silently.
      out.refused[i] = DeliveryResult::rejected(
          "device_tokens, topic and condition are not Braze recipients; give external_user_ids (or send through "
          "fcm/apns)");
      continue;
    }
    if (n.external_user_ids.empty()) {
      out.refused[i] = DeliveryResult::rejected("no recipients: external_user_ids is empty");
      continue;
    }
    for (const char* reserved : {"ab", "aps"}) {
      if (n.custom_data.count(reserved) != 0) {
        out.refused[i] = DeliveryResult::rejected(std::string("custom_data key '") + reserved +
                                                  "' is reserved by Braze for push extra");
      }
    }
    if (out.refused[i]) continue;
    if (!n.trigger_properties_json.empty()) {
      try {
        auto v = Poco::JSON::Parser().parse(n.trigger_properties_json);
        if (v.type() != typeid(Object::Ptr)) throw Poco::Exception("not an object");
      } catch (const Poco::Exception&) {
        out.refused[i] = DeliveryResult::rejected("trigger_properties is not a JSON object");
        continue;
      }
    }
    const std::string campaign = !n.campaign_id.empty() ? n.campaign_id : options.default_campaign_id;
    const std::string canvas = !n.canvas_id.empty() ? n.canvas_id : options.default_canvas_id;
    Kind kind = !campaign.empty() ? Kind::campaign : (!canvas.empty() ? Kind::canvas : Kind::messages);
    if (kind == Kind::messages) {
      if (!options.apple && !options.android) {
        out.refused[i] = DeliveryResult::rejected("no push platform enabled (platforms is empty)");
        continue;
      }
      if (options.apple) {
        const auto size = apple_push_json(n).size();
        if (size > kApplePushMaxBytes) {
          out.refused[i] = DeliveryResult::rejected("apple_push is " + std::to_string(size) +
                                                    " bytes, over Braze's limit of 1912 bytes");
          continue;
        }
      }
      if (options.android) {
        const auto size = android_push_json(n).size();
        if (size > kAndroidPushMaxBytes) {
          out.refused[i] = DeliveryResult::rejected("android_push is " + std::to_string(size) +
                                                    " bytes, over Braze's limit of 4000 bytes");
          continue;
        }
      }
    }
    const std::string target = kind == Kind::campaign ? campaign : canvas;
    const auto key = group_key(n, kind, target);
    auto [it, inserted] = index_of.emplace(key, groups.size());
    if (inserted) groups.push_back(Group{kind, target, &n, {}});
    groups[it->second].members.push_back(i);
  }

  for (const auto& g : groups) {
    std::vector<std::pair<std::size_t, std::string>> recipients;
    for (auto idx : g.members) {
      for (const auto& user : batch[idx].external_user_ids) {
        if (recipients.size() == kMaxRecipientsPerRequest) {
          emit_call(out, g, recipients, batch, options);
          recipients.clear();
        }
        recipients.emplace_back(idx, user);
      }
    }
    if (!recipients.empty()) emit_call(out, g, recipients, batch, options);
  }

  return out;
}

}  // namespace notify::braze
