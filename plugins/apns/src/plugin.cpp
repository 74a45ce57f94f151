// Export of the "apns" provider plugin (Apple Push Notification service, token-based auth): config schema and factory.
#include "apns_provider.hpp"
#include "provider_token.hpp"

#include <notify/plugin.hpp>

#include <Poco/URI.h>

#include <fstream>
#include <sstream>

namespace {

using notify::FieldSpec;
using notify::FieldType;

constexpr FieldSpec kEgress[] = {
    {"transport", FieldType::string, false, "tcp", "transport for connections to APNs: tcp, or vsock via the relay"},
    {"address", FieldType::string, false, nullptr,
     "where to connect (default: the endpoint's host:port; e.g. 3:8080 for the parent's relay over vsock)"},
};

constexpr FieldSpec kApnsSchema[] = {
    {"endpoint", FieldType::string, false, "https://api.push.apple.com",
     "APNs endpoint (development: https://api.sandbox.push.apple.com)"},
    {"key", FieldType::secret, false, nullptr, "the team's .p8 signing key (PEM); production: provision it sealed"},
    {"key_file", FieldType::string, false, nullptr, "dev: read the .p8 key from this file at start (${APNS_KEY_FILE})"},
    {"secret_name", FieldType::string, false, nullptr, "SecretStore name of the key (default: <instance>.key)"},
    {"key_id", FieldType::string, true, nullptr, "the key's 10-character id (the JWT's kid)"},
    {"team_id", FieldType::string, true, nullptr, "the developer team id (the JWT's iss)"},
    {"topic", FieldType::string, true, nullptr, "apns-topic: the app's bundle id"},
    {"push_type", FieldType::string, false, "alert", "apns-push-type"},
    {"priority", FieldType::integer, false, "10", "apns-priority: 10 (now) or 5 (power-considerate)"},
    {"egress", FieldType::object, false, nullptr, "how connections leave this host", kEgress, std::size(kEgress)},
    {"ca_file", FieldType::string, false, nullptr, "CA bundle (PEM); an enclave image has no system store"},
    {"concurrency", FieldType::integer, false, "32", "pushes in flight per batch"},
    {"max_connections", FieldType::integer, false, "2", "HTTP/2 connections to APNs"},
    {"connect_timeout", FieldType::duration, false, "5s", "egress connect plus TLS handshake"},
    {"request_timeout", FieldType::duration, false, "30s", "deadline of one HTTP request"},
    {"max_attempts", FieldType::integer, false, "3", "sends of one push before answering retryable"},
    {"backoff_initial", FieldType::duration, false, "200ms", "first retry delay (5xx, network)"},
    {"backoff_max", FieldType::duration, false, "5s", "retry delay cap"},
    {"max_retry_wait", FieldType::duration, false, "30s", "longer waits (e.g. Retry-After) go back to the caller"},
};

notify::Result<std::int64_t> in_range(const notify::ConfigView& c, const char* key, std::int64_t fallback,
                                      std::int64_t max) {
  const auto v = c.get_int(key).value_or(fallback);
  if (v < 1 || v > max) {
    return notify::Error{notify::Errc::invalid_argument, c.location(key) + ": " + key + ": must be 1.." +
                                                             std::to_string(max) + ", not " + std::to_string(v)};
  }
  return v;
}

notify::Result<std::unique_ptr<notify::Provider>> make_apns(const notify::PluginContext& ctx) {
  using notify::Errc;
  using notify::Error;
  const auto& c = ctx.config;
  notify::apns::ApnsOptions o;
  o.endpoint = c.get_string("endpoint").value_or("https://api.push.apple.com");
  try {
    Poco::URI u(o.endpoint);
    const auto& path = u.getPath();
    if (u.getScheme() != "https" || u.getHost().empty() || !u.getUserInfo().empty() || !u.getRawQuery().empty() ||
        !(path.empty() || path == "/")) {
      return Error{Errc::invalid_argument, c.location("endpoint") + ": endpoint: must be https://host[:port]"};
    }
    if (o.endpoint.back() == '/') o.endpoint.pop_back();
  } catch (const std::exception&) {
    return Error{Errc::invalid_argument, c.location("endpoint") + ": endpoint: not a valid URL"};
  }
  o.key_id = c.get_string("key_id").value_or("");
  o.team_id = c.get_string("team_id").value_or("");
  o.topic = c.get_string("topic").value_or("");
  for (auto [key, value] :
       {std::pair{"key_id", &o.key_id}, std::pair{"team_id", &o.team_id}, std::pair{"topic", &o.topic}}) {
    if (value->empty()) return Error{Errc::invalid_argument, c.location(key) + ": " + key + ": must not be empty"};
  }
  o.push_type = c.get_string("push_type").value_or("alert");
  const auto priority = c.get_int("priority").value_or(10);
  if (priority != 10 && priority != 5 && priority != 1) {
    return Error{Errc::invalid_argument, c.location("priority") + ": priority: must be 10, 5 or 1"};
  }
  o.priority = static_cast<int>(priority);
  o.secret_name = c.get_string("secret_name").value_or("");
  if (o.secret_name.empty()) o.secret_name = c.secret_name("key");
  if (auto file = c.get_string("key_file").value_or(""); !file.empty()) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    if (!in || !(text << in.rdbuf())) {
      return Error{Errc::not_found, c.location("key_file") + ": key_file: cannot read " + file};
    }
    notify::Secret pem(text.str());
    std::string buffer = std::move(text).str();
    explicit_bzero(buffer.data(), buffer.size());
    if (auto t = notify::apns::make_provider_token(pem.reveal(), o.key_id, o.team_id, std::chrono::system_clock::now());
        !t) {
      return Error{Errc::invalid_argument, c.location("key_file") + ": " + file + ": " + t.error().message};
    }
    if (auto st = ctx.secrets.put(o.secret_name, std::move(pem), notify::SecretOrigin::config); !st) {
      return Error{st.code(), c.location("key_file") + ": " + st.message()};
    }
  }
  auto egress = c.get_object("egress");
  o.http.egress_transport = egress->get_string("transport").value_or("tcp");
  o.http.egress_address = egress->get_string("address").value_or("");
  o.http.ca_file = c.get_string("ca_file").value_or("");
  o.http.metrics = &ctx.metrics;  // each call's status and duration, on the host's /metrics
  o.http.http2 = true;            // APNs speaks HTTP/2 only
  o.http.connect_timeout = c.get_duration("connect_timeout").value_or(std::chrono::seconds(5));
  o.http.request_timeout = c.get_duration("request_timeout").value_or(std::chrono::seconds(30));
  auto concurrency = in_range(c, "concurrency", 32, 1024);
  if (!concurrency) return concurrency.error();
  auto connections = in_range(c, "max_connections", 2, 64);
  if (!connections) return connections.error();
  auto attempts = in_range(c, "max_attempts", 3, 100);
  if (!attempts) return attempts.error();
  o.concurrency = static_cast<std::size_t>(*concurrency);
  o.http.max_connections = static_cast<std::size_t>(*connections);
  o.max_attempts = static_cast<int>(*attempts);
  o.backoff_initial = c.get_duration("backoff_initial").value_or(std::chrono::milliseconds(200));
  o.backoff_max = c.get_duration("backoff_max").value_or(std::chrono::seconds(5));
  o.max_retry_wait = c.get_duration("max_retry_wait").value_or(std::chrono::seconds(30));
  return std::unique_ptr<notify::Provider>(
      std::make_unique<notify::apns::ApnsProvider>(std::move(o), ctx.secrets, ctx.transports, ctx.log));
}

}  // namespace

NOTIFY_PROVIDER_PLUGIN("apns", "1.0.0", "Apple Push Notification service over HTTP/2 (token-based auth, ES256)",
                       kApnsSchema, make_apns)
