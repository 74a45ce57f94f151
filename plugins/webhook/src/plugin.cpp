// Export of the "webhook" provider plugin: config schema and factory.
#include "webhook_provider.hpp"

#include <notify/plugin.hpp>

#include <Poco/URI.h>

#include <algorithm>

namespace {

using notify::FieldSpec;
using notify::FieldType;

constexpr FieldSpec kEgress[] = {
    {"transport", FieldType::string, false, "tcp",
     "transport for connections to the receiver: tcp, or vsock via the relay"},
    {"address", FieldType::string, false, nullptr,
     "where to connect (default: the url's host:port; e.g. 3:8080 for the parent's relay over vsock)"},
};

constexpr FieldSpec kWebhookSchema[] = {
    {"url", FieldType::string, true, nullptr, "receiver URL, https:// only (its path is never logged)"},
    {"webhook_secret", FieldType::secret, false, nullptr,
     "Standard Webhooks secret whsec_<base64> (dev: ${WEBHOOK_SECRET}); production: provision it sealed"},
    {"secret_name", FieldType::string, false, nullptr,
     "SecretStore name of the secret (default: <instance>.webhook_secret)"},
    {"egress", FieldType::object, false, nullptr, "how connections leave this host", kEgress, std::size(kEgress)},
    {"ca_file", FieldType::string, false, nullptr, "CA bundle (PEM); an enclave image has no system store"},
    {"concurrency", FieldType::integer, false, "16", "calls in flight per batch"},
    {"max_connections", FieldType::integer, false, "4", "connections to the receiver (HTTP/2 multiplexes on them)"},
    {"http2", FieldType::boolean, false, "true", "offer HTTP/2 (ALPN h2); false: HTTP/1.1 only"},
    {"connect_timeout", FieldType::duration, false, "5s", "egress connect plus TLS handshake"},
    {"request_timeout", FieldType::duration, false, "30s", "deadline of one HTTP request"},
    {"max_attempts", FieldType::integer, false, "3", "sends of one notification before answering retryable"},
    {"backoff_initial", FieldType::duration, false, "200ms", "first retry delay (5xx, network)"},
    {"backoff_max", FieldType::duration, false, "5s", "retry delay cap"},
    {"max_retry_wait", FieldType::duration, false, "30s", "longer waits (e.g. Retry-After) go back to the caller"},
};

notify::Result<std::int64_t> positive(const notify::ConfigView& c, const char* key, std::int64_t fallback,
                                      std::int64_t max) {
  const auto v = c.get_int(key).value_or(fallback);
  if (v < 1 || v > max) {
    return notify::Error{notify::Errc::invalid_argument, c.location(key) + ": " + key + ": must be 1.." +
                                                             std::to_string(max) + ", not " + std::to_string(v)};
  }
  return v;
}

notify::Result<std::unique_ptr<notify::Provider>> make_webhook(const notify::PluginContext& ctx) {
  const auto& c = ctx.config;
  notify::webhook::WebhookOptions o;
  o.url = c.get_string("url").value_or("");
  try {
    Poco::URI u(o.url);
    if (u.getScheme() != "https" || u.getHost().empty() || !u.getUserInfo().empty() || !u.getFragment().empty()) {
      return notify::Error{notify::Errc::invalid_argument,
                           c.location("url") + ": url: must be https://host[:port][/path], without user info"};
    }
  } catch (const std::exception&) {
    return notify::Error{notify::Errc::invalid_argument, c.location("url") + ": url: not a valid URL"};
  }
  o.secret_name = c.get_string("secret_name").value_or("");
  if (o.secret_name.empty()) o.secret_name = c.secret_name("webhook_secret");
  auto egress = c.get_object("egress");
  o.http.egress_transport = egress->get_string("transport").value_or("tcp");
  o.http.egress_address = egress->get_string("address").value_or("");
  o.http.ca_file = c.get_string("ca_file").value_or("");
  o.http.metrics = &ctx.metrics;  // each call's status and duration, on the host's /metrics
  o.http.http2 = c.get_bool("http2").value_or(true);
  o.http.connect_timeout = c.get_duration("connect_timeout").value_or(std::chrono::seconds(5));
  o.http.request_timeout = c.get_duration("request_timeout").value_or(std::chrono::seconds(30));
  auto concurrency = positive(c, "concurrency", 16, 1024);
  if (!concurrency) return concurrency.error();
  auto connections = positive(c, "max_connections", 4, 1024);
  if (!connections) return connections.error();
  auto attempts = positive(c, "max_attempts", 3, 100);
  if (!attempts) return attempts.error();
  o.concurrency = static_cast<std::size_t>(*concurrency);
  o.http.max_connections = static_cast<std::size_t>(*connections);
  o.max_attempts = static_cast<int>(*attempts);
  o.backoff_initial = c.get_duration("backoff_initial").value_or(std::chrono::milliseconds(200));
  o.backoff_max = c.get_duration("backoff_max").value_or(std::chrono::seconds(5));
  o.max_retry_wait = c.get_duration("max_retry_wait").value_or(std::chrono::seconds(30));
  return std::unique_ptr<notify::Provider>(
      std::make_unique<notify::webhook::WebhookProvider>(std::move(o), ctx.secrets, ctx.transports, ctx.log));
}

}  // namespace

NOTIFY_PROVIDER_PLUGIN("webhook", "1.0.0", "POSTs each notification as JSON to an HTTPS URL, Standard Webhooks signed",
                       kWebhookSchema, make_webhook)
