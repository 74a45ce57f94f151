// Export of the "braze" provider plugin: config schema and factory.
#include "braze_provider.hpp"

#include <notify/plugin.hpp>

namespace {

using notify::FieldSpec;
using notify::FieldType;

constexpr FieldSpec kEgress[] = {
    {"transport", FieldType::string, false, "tcp", "transport for connections to Braze: tcp, or vsock via the relay"},
    {"address", FieldType::string, false, nullptr,
     "where to connect (default: the endpoint's host:port; e.g. 3:8080 for the parent's relay over vsock)"},
};

constexpr FieldSpec kBrazeSchema[] = {
    {"endpoint", FieldType::string, true, nullptr, "REST endpoint, e.g. https://rest.iad-01.braze.com"},
    {"api_key", FieldType::secret, false, nullptr,
     "REST API key (dev: ${BRAZE_API_KEY}); production: leave empty and provision it sealed"},
    {"egress", FieldType::object, false, nullptr, "how connections leave this host", kEgress, std::size(kEgress)},
    {"ca_file", FieldType::string, false, nullptr, "CA bundle (PEM); an enclave image has no system store"},
    {"allow_insecure_http", FieldType::boolean, false, "false", "permit an http:// endpoint (dev, loopback only)"},
    {"platforms", FieldType::string_list, false, "apple,android", "push objects sent by /messages/send"},
    {"campaign_id", FieldType::string, false, nullptr, "send via /campaigns/trigger/send when set"},
    {"canvas_id", FieldType::string, false, nullptr, "send via /canvas/trigger/send when set"},
    {"pool_size", FieldType::integer, false, "8", "keep-alive connections, and calls in flight per batch"},
    {"connect_timeout", FieldType::duration, false, "5s", nullptr},
    {"tls_timeout", FieldType::duration, false, "10s", "TLS handshake deadline"},
    {"request_timeout", FieldType::duration, false, "30s", "deadline of one HTTP request"},
    {"max_attempts", FieldType::integer, false, "3", "sends of one request before answering retryable"},
    {"backoff_initial", FieldType::duration, false, "200ms", "first retry delay (5xx, network)"},
    {"backoff_max", FieldType::duration, false, "5s", "retry delay cap"},
    {"max_retry_wait", FieldType::duration, false, "30s", "longer waits (e.g. a 429 window) go back to the caller"},
    {"rate_limit_per_hour", FieldType::integer, false, "250000", "client-side request budget (Braze's default)"},
};

notify::Result<std::unique_ptr<notify::Provider>> make_braze(const notify::PluginContext& ctx) {
  const auto& c = ctx.config;
  notify::braze::BrazeOptions o;
  auto endpoint = notify::braze::parse_endpoint(c.get_string("endpoint").value_or(""));
  if (!endpoint)
    return notify::Error{endpoint.error().code, c.location("endpoint") + ": endpoint: " + endpoint.error().message};
  const bool insecure_ok = c.get_bool("allow_insecure_http").value_or(false);
  if (endpoint->scheme == "http" && !insecure_ok) {
    return notify::Error{notify::Errc::invalid_argument,
                         c.location("endpoint") + ": endpoint: http:// needs allow_insecure_http: true (dev only)"};
  }
  if (endpoint->scheme == "http") {
    ctx.log.warning(
        "INSECURE: Braze endpoint is plain http (allow_insecure_http); the API key crosses the wire in clear");
  }
  o.http.endpoint = *endpoint;
  auto egress = c.get_object("egress");
  o.http.egress_transport = egress->get_string("transport").value_or("tcp");
  o.http.egress_address = egress->get_string("address").value_or("");
  o.http.ca_file = c.get_string("ca_file").value_or("");
  o.metrics = &ctx.metrics;  // each call's status and duration, on the host's /metrics
  o.http.pool_size = static_cast<std::size_t>(std::max<std::int64_t>(1, c.get_int("pool_size").value_or(8)));
  o.http.connect_timeout = c.get_duration("connect_timeout").value_or(std::chrono::seconds(5));
  o.http.tls_timeout = c.get_duration("tls_timeout").value_or(std::chrono::seconds(10));
  o.http.request_timeout = c.get_duration("request_timeout").value_or(std::chrono::seconds(30));
  o.content.apple = o.content.android = false;
  for (const auto& p : c.get_string_list("platforms")) {
    if (p == "apple")
      o.content.apple = true;
    else if (p == "android")
      o.content.android = true;
    else
      return notify::Error{notify::Errc::invalid_argument,
                           c.location("platforms") + ": platforms: unknown '" + p + "' (apple, android)"};
  }
  o.content.default_campaign_id = c.get_string("campaign_id").value_or("");
  o.content.default_canvas_id = c.get_string("canvas_id").value_or("");
  o.api_key_secret = c.secret_name("api_key");
  o.max_attempts = static_cast<int>(std::max<std::int64_t>(1, c.get_int("max_attempts").value_or(3)));
  o.backoff_initial = c.get_duration("backoff_initial").value_or(std::chrono::milliseconds(200));
  o.backoff_max = c.get_duration("backoff_max").value_or(std::chrono::seconds(5));
  o.max_retry_wait = c.get_duration("max_retry_wait").value_or(std::chrono::seconds(30));
  o.rate_limit_per_hour = static_cast<double>(c.get_int("rate_limit_per_hour").value_or(250000));
  return std::unique_ptr<notify::Provider>(
      std::make_unique<notify::braze::BrazeProvider>(std::move(o), ctx.secrets, ctx.transports, ctx.log));
}

}  // namespace

NOTIFY_PROVIDER_PLUGIN("braze", "1.0.0", "Braze REST API over HTTPS (messages/send, campaign and canvas triggers)",
                       kBrazeSchema, make_braze)
