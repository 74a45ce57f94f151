// Export of the "fcm" provider plugin (Firebase Cloud Messaging HTTP v1): config schema and factory.
#include "fcm_provider.hpp"
#include "service_account.hpp"

#include <notify/plugin.hpp>

#include <Poco/URI.h>

#include <fstream>
#include <sstream>

namespace {

using notify::FieldSpec;
using notify::FieldType;

constexpr FieldSpec kEgress[] = {
    {"transport", FieldType::string, false, "tcp",
     "transport for connections to FCM and OAuth: tcp, or vsock via the relay"},
    {"address", FieldType::string, false, nullptr,
     "where to connect (default: each URL's host:port; e.g. 3:8081 for the parent's relay route to FCM over vsock)"},
    {"hosts", FieldType::string_map, false, nullptr,
     "per-host addresses overriding `address`, keyed by host or host:port: the token_uri's host through its own "
     "relay route (e.g. oauth2.googleapis.com: 3:8082)"},
};

constexpr FieldSpec kFcmSchema[] = {
    {"endpoint", FieldType::string, false, "https://fcm.googleapis.com", "FCM endpoint (scheme://host[:port])"},
    {"service_account", FieldType::secret, false, nullptr,
     "service account JSON (client_email, private_key, token_uri, project_id); production: provision it sealed"},
    {"service_account_file", FieldType::string, false, nullptr,
     "dev: read the service account JSON from this file into the secret store at start (${FCM_SERVICE_ACCOUNT_FILE})"},
    {"secret_name", FieldType::string, false, nullptr,
     "SecretStore name of the service account (default: <instance>.service_account)"},
    {"egress", FieldType::object, false, nullptr, "how connections leave this host", kEgress, std::size(kEgress)},
    {"ca_file", FieldType::string, false, nullptr, "CA bundle (PEM); an enclave image has no system store"},
    {"concurrency", FieldType::integer, false, "32", "messages:send calls in flight per batch"},
    {"max_connections", FieldType::integer, false, "4", "connections (HTTP/2 multiplexes the calls on them)"},
    {"connect_timeout", FieldType::duration, false, "5s", "egress connect plus TLS handshake"},
    {"request_timeout", FieldType::duration, false, "30s", "deadline of one HTTP request"},
    {"max_attempts", FieldType::integer, false, "3", "sends of one message before answering retryable"},
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

notify::Result<std::unique_ptr<notify::Provider>> make_fcm(const notify::PluginContext& ctx) {
  using notify::Errc;
  using notify::Error;
  const auto& c = ctx.config;
  notify::fcm::FcmOptions o;
  o.endpoint = c.get_string("endpoint").value_or("https://fcm.googleapis.com");
  try {
    Poco::URI u(o.endpoint);
    const auto& path = u.getPath();
    if (u.getScheme() != "https" || u.getHost().empty() || !u.getUserInfo().empty() || !u.getRawQuery().empty() ||
        !(path.empty() || path == "/")) {
      return Error{Errc::invalid_argument, c.location("endpoint") + ": endpoint: must be https://host[:port]"};
    }
    if (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
  } catch (const std::exception&) {
    return Error{Errc::invalid_argument, c.location("endpoint") + ": endpoint: not a valid URL"};
  }
  o.secret_name = c.get_string("secret_name").value_or("");
  if (o.secret_name.empty()) o.secret_name = c.secret_name("service_account");
  if (auto file = c.get_string("service_account_file").value_or(""); !file.empty()) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    if (!in || !(text << in.rdbuf())) {
      return Error{Errc::not_found, c.location("service_account_file") + ": service_account_file: cannot read " + file};
    }
    notify::Secret json(text.str());
    std::string buffer = std::move(text).str();
    explicit_bzero(buffer.data(), buffer.size());
    if (auto account = notify::fcm::parse_service_account(json.reveal()); !account) {
      return Error{Errc::invalid_argument,
                   c.location("service_account_file") + ": " + file + ": " + account.error().message};
    }
    if (auto st = ctx.secrets.put(o.secret_name, std::move(json), notify::SecretOrigin::config); !st) {
      return Error{st.code(), c.location("service_account_file") + ": " + st.message()};
    }
  }
  auto egress = c.get_object("egress");
  o.http.egress_transport = egress->get_string("transport").value_or("tcp");
  o.http.egress_address = egress->get_string("address").value_or("");
  o.http.egress_by_host = egress->get_string_map("hosts");
  for (const auto& [host, address] : o.http.egress_by_host) {
    if (host.empty() || address.empty()) {
      return Error{Errc::invalid_argument, egress->location("hosts") + ": egress.hosts: '" + host +
                                               "': " + (host.empty() ? "empty host" : "empty address")};
    }
  }
  o.http.ca_file = c.get_string("ca_file").value_or("");
  o.http.metrics = &ctx.metrics;  // each call's status and duration, on the host's /metrics
  o.http.connect_timeout = c.get_duration("connect_timeout").value_or(std::chrono::seconds(5));
  o.http.request_timeout = c.get_duration("request_timeout").value_or(std::chrono::seconds(30));
  auto concurrency = in_range(c, "concurrency", 32, 1024);
  if (!concurrency) return concurrency.error();
  auto connections = in_range(c, "max_connections", 4, 1024);
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
      std::make_unique<notify::fcm::FcmProvider>(std::move(o), ctx.secrets, ctx.transports, ctx.log));
}

}  // namespace

NOTIFY_PROVIDER_PLUGIN("fcm", "1.0.0", "Firebase Cloud Messaging HTTP v1 (OAuth service account, HTTP/2)", kFcmSchema,
                       make_fcm)
