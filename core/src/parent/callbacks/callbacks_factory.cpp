#include "parent/callbacks/callbacks_factory.hpp"

#include "parent/callbacks/callback_client.hpp"
#include "parent/callbacks/callback_recorder.hpp"
#include "parent/callbacks/callback_sender.hpp"
#include "parent/dispatch/delivery_metrics.hpp"
#include "parent/dispatch/dispatch_service.hpp"

#include <notify/toolkit/standard_webhooks.hpp>
#include <notify/toolkit/tls_client.hpp>

#include <Poco/Exception.h>

#include <algorithm>

namespace notify::parent {
namespace {

using FT = FieldType;

constexpr FieldSpec kCallbacks[] = {
    {"url", FT::string, true, nullptr, "receiver of the signed outcome events: https, or http to a loopback host"},
    {"secret", FT::secret, true, nullptr, "Standard Webhooks signing secret, whsec_<base64>; ${ENV} is expanded"},
    {"ca_file", FT::string, false, nullptr, "CA bundle the receiver's certificate must chain to (default: system)"},
    {"timeout", FT::duration, false, "10s", "one POST: connect, send, and the receiver's answer"},
    {"backoff_initial", FT::duration, false, "1s", "first retry delay of an unacknowledged event"},
    {"backoff_max", FT::duration, false, "5m", "retry delay cap"},
    {"max_attempts", FT::integer, false, "0", "attempts per event before it is dropped; 0 = until acknowledged"},
    {"allow_per_notification_url", FT::boolean, false, "false",
     "true: a notification may name its own callback_url, https or http to loopback (otherwise ingress refuses it)"},
    {"concurrency", FT::integer, false, "4", "events POSTed at once (1..64)"},
    {"path", FT::string, false, nullptr,
     "the durable outbox (SQLite); default: next to queue.path as <queue.path>.callbacks; required with redis"},
};

Status build(services::ServiceContext& ctx, const config::YamlConfigView& section) {
  auto queue = ctx.section("queue");
  auto cfg = callbacks_config_from(section, *queue);
  if (!cfg) return cfg.error();
  // In the store only so that the log redactor knows the value.
  if (auto st = ctx.secrets().put("callbacks.secret", cfg->secret, SecretOrigin::config); !st) return st;
  Poco::Net::Context::Ptr tls;
  try {
    tls = toolkit::make_tls_client_context(cfg->ca_file);
  } catch (const Poco::Exception& e) {
    return Error{Errc::invalid_argument, section.location("ca_file") + ": callbacks.ca_file: " + e.displayText()};
  }
  if (ctx.checking()) return {};
  auto* dispatch = ctx.find<services::DispatchService>();
  auto* metrics = ctx.find<services::DeliveryMetrics>();
  if (dispatch == nullptr || metrics == nullptr) return Error{Errc::internal, "callbacks: built before queue"};
  auto opened = callbacks::CallbackOutbox::open(cfg->path, cfg->outbox);
  if (!opened) {
    return Error{opened.error().code, section.location("path") + ": callbacks.path: " + opened.error().message};
  }
  auto& outbox = ctx.keep(std::move(opened.value()));
  callbacks::SenderOptions so;
  so.url = cfg->url;
  so.concurrency = cfg->concurrency;
  // Idle workers look for events whose backoff ended this often: often enough for a short backoff, at most 1/s.
  so.poll_interval =
      std::clamp(cfg->outbox.backoff_initial / 2, std::chrono::milliseconds(20), std::chrono::milliseconds(1000));
  auto sender = std::make_unique<callbacks::CallbackSender>(
      outbox, callbacks::CallbackClient(tls, std::move(cfg->key), cfg->timeout), so, *metrics, ctx.logger("callbacks"));
  auto* sender_ptr = sender.get();
  auto& recorder = ctx.keep(std::make_unique<callbacks::CallbackRecorder>(
      outbox, [sender_ptr] { sender_ptr->wake(); }, *metrics, ctx.logger("callbacks")));
  dispatch->set_outcome_listener(&recorder);
  if (cfg->allow_per_notification_url) {
    ctx.provide<PerNotificationCallbackUrls>(ctx.keep(std::make_unique<PerNotificationCallbackUrls>(outbox)));
  }
  ctx.provide<callbacks::CallbackSender>(*sender);
  ctx.add(std::move(sender));
  return {};
}

}  // namespace

Result<CallbacksConfig> callbacks_config_from(const config::YamlConfigView& s, const config::YamlConfigView& queue) {
  CallbacksConfig c;
  const auto url_text = s.string_value("url");
  auto url = callbacks::parse_callback_url(url_text);
  if (!url) return Error{Errc::invalid_argument, s.location("url") + ": callbacks.url: " + url.error().message};
  c.url = std::move(url.value());
  const auto secret = s.raw_secret("secret").value_or("");
  auto key = toolkit::parse_webhook_secret(secret);
  if (!key) return Error{Errc::invalid_argument, s.location("secret") + ": callbacks.secret: " + key.error().message};
  c.secret = Secret(secret);
  c.key = std::move(key.value());
  c.ca_file = s.get_string("ca_file").value_or("");
  c.timeout = std::max(s.duration_value("timeout"), std::chrono::milliseconds(1));
  c.outbox.backoff_initial = std::max(s.duration_value("backoff_initial"), std::chrono::milliseconds(1));
  c.outbox.backoff_max = std::max(s.duration_value("backoff_max"), c.outbox.backoff_initial);
  const auto max_attempts = s.int_value("max_attempts");
  if (max_attempts < 0) {
    return Error{Errc::invalid_argument,
                 s.location("max_attempts") + ": callbacks.max_attempts: must be 0 (until acknowledged) or more"};
  }
  c.outbox.max_attempts = static_cast<int>(std::min<std::int64_t>(max_attempts, 1000000));
  c.allow_per_notification_url = s.bool_value("allow_per_notification_url");
  c.concurrency = static_cast<std::size_t>(std::clamp<std::int64_t>(s.int_value("concurrency"), 1, 64));
  if (auto path = s.get_string("path"); path && !path->empty()) {
    c.path = *path;
  } else if (queue.string_value("backend") == "sqlite" && queue.get_string("path")) {
    c.path = *queue.get_string("path") + ".callbacks";
  } else {
    return Error{Errc::invalid_argument,
                 s.location("") + ": callbacks.path: required when the queue is not SQLite (queue.backend: redis)"};
  }
  return c;
}

services::ServiceFactory callbacks_factory() {
  return {{"callbacks", FT::object, false, nullptr,
           "parent side: signed delivery callbacks (Standard Webhooks) from a durable outbox (needs queue)", kCallbacks,
           std::size(kCallbacks)},
          {"queue"},
          nullptr,
          build};
}

}  // namespace notify::parent
