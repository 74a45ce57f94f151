#include "core/host_schema.hpp"

#include "relay/relay_options.hpp"

namespace notify::host {
namespace {

using FT = FieldType;

constexpr FieldSpec kLog[] = {
    {"level", FT::string, false, "info", "default level: trace, debug, info, warning, error"},
    {"components", FT::string_map, false, nullptr, "per-component levels, e.g. {link: debug, braze: trace}"},
    {"format", FT::string, false, "text", "text or json"},
};
constexpr FieldSpec kPlugins[] = {
    {"path", FT::string_list, false, nullptr, "directories searched for notify-<kind>-<name>.so"},
};
constexpr FieldSpec kSecrets[] = {
    {"allow_plaintext", FT::boolean, false, "false",
     "accept secrets sent in plaintext over the link (the seed's Initialize). INSECURE: dev only"},
};
constexpr FieldSpec kProvider[] = {
    {"name", FT::string, false, nullptr, "instance name (default: the plugin name); secrets are <name>.<key>"},
    {"plugin", FT::string, true, nullptr, "provider plugin name, e.g. braze, log"},
    {"default", FT::boolean, false, "false", "use for notifications that name no provider"},
    {"config", FT::object, false, nullptr, "the plugin's own block (validated against the plugin's schema)"},
};
constexpr FieldSpec kDedup[] = {
    {"capacity", FT::integer, false, "100000", "request_ids remembered"},
    {"ttl", FT::duration, false, "1h", "how long a request_id is remembered"},
};
constexpr FieldSpec kServe[] = {
    {"transport", FT::string, false, "tcp", "transport plugin to listen on (tcp, vsock)"},
    {"listen", FT::string, true, nullptr, "address to listen on, e.g. 127.0.0.1:5000 or any:5000"},
    {"max_connections", FT::integer, false, "64", "link connections served at once"},
    {"io_timeout", FT::duration, false, "30s", "per-connection read/write timeout"},
    {"max_frame_bytes", FT::integer, false, "4194304", "largest link frame accepted"},
    {"workers", FT::integer, false, "4", "threads handling requests"},
    {"dedup", FT::object, false, nullptr, "remembered request_ids, so a retried delivery is not sent twice", kDedup,
     std::size(kDedup)},
    {"attestation", FT::string, false, "none",
     "none, nsm (real Nitro /dev/nsm) or development (self-signed; never in production)"},
};
constexpr FieldSpec kForward[] = {
    {"transport", FT::string, false, "tcp", "transport plugin to reach the enclave (tcp, vsock)"},
    {"address", FT::string, true, nullptr, "enclave address, e.g. 127.0.0.1:5000 or 16:5000"},
    {"connect_timeout", FT::duration, false, "5s", nullptr},
    {"request_timeout", FT::duration, false, "30s", "deadline of one request, including retries"},
    {"backoff_initial", FT::duration, false, "100ms", "first reconnect delay"},
    {"backoff_max", FT::duration, false, "10s", "reconnect delay cap"},
    {"max_attempts", FT::integer, false, "5", "sends of one request across reconnects"},
    {"max_frame_bytes", FT::integer, false, "4194304", nullptr},
};
constexpr FieldSpec kDemoInit[] = {
    {"secret", FT::string, false, "braze.api_key", "secret name in the enclave's store"},
    {"value", FT::secret, false, nullptr,
     "the secret's value, sent IN PLAINTEXT over the link (seed behaviour; dev only). Empty: skip"},
};
constexpr FieldSpec kDemo[] = {
    {"enabled", FT::boolean, false, "true", nullptr},
    {"interval", FT::duration, false, "30s", "time between periodic test notifications"},
    {"count", FT::integer, false, "0", "periodic sends before stopping; 0 = forever"},
    {"exit_when_done", FT::boolean, false, "false", "with count > 0: shut the host down after the last send"},
    {"external_user_id", FT::string, false, "user123", "recipient of the test notifications"},
    {"title", FT::string, false, "Test Notification", nullptr},
    {"message", FT::string, false, "Hello from the Nitro Enclave!", nullptr},
    {"provider", FT::string, false, "", "provider instance on the enclave; empty = its default"},
    {"initialize", FT::object, false, nullptr, "the seed's Initialize step", kDemoInit, std::size(kDemoInit)},
};

constexpr FieldSpec kQueue[] = {
    {"backend", FT::string, false, "sqlite", "sqlite (embedded) or redis (Redis Streams: several parents, one queue)"},
    {"path", FT::string, false, nullptr, "sqlite: the database file"},
    {"redis_address", FT::string, false, "127.0.0.1:6379", "redis: host:port or a unix socket path"},
    {"redis_prefix", FT::string, false, "notify", "redis: key prefix"},
    {"redis_group", FT::string, false, "notify-parents", "redis: consumer group shared by the parent hosts"},
    {"redis_consumer", FT::string, false, nullptr, "redis: this host's consumer name (default hostname:pid)"},
    {"capacity", FT::integer, false, "100000", "unfinished notifications at most; beyond that ingress answers 503"},
    {"max_attempts", FT::integer, false, "10", "deliveries tried before a notification is dead"},
    {"backoff_initial", FT::duration, false, "1s", "first retry delay (a provider's retry_after wins when longer)"},
    {"backoff_max", FT::duration, false, "5m", "retry delay cap"},
    {"lease", FT::duration, false, "60s", "an in-flight notification whose host died is retried after this"},
    {"retention", FT::duration, false, "7d", "delivered/rejected records are deleted this long after finishing"},
    {"batch_size", FT::integer, false, "50", "notifications per deliver request to the enclave"},
    {"poll_interval", FT::duration, false, "200ms", "how often the dispatcher looks for due retries"},
};
constexpr FieldSpec kIngress[] = {
    {"listen", FT::string, false, "127.0.0.1:8088", "HTTP API address (non-loopback needs a token)"},
    {"token", FT::secret, false, nullptr, "bearer token clients must send; empty = loopback only"},
    {"max_body_bytes", FT::integer, false, "1048576", "larger bodies get 413"},
};

constexpr FieldSpec kHost[] = {
    {"node", FT::string, false, "notify", "this host's name in logs and health"},
    {"log", FT::object, false, nullptr, "logging", kLog, std::size(kLog)},
    {"plugins", FT::object, false, nullptr, "plugin search path", kPlugins, std::size(kPlugins)},
    {"secrets", FT::object, false, nullptr, "secret policy", kSecrets, std::size(kSecrets)},
    {"transports", FT::object, false, nullptr, "optional per-transport plugin config, keyed by plugin name"},
    {"providers", FT::object_list, false, nullptr, "provider instances", kProvider, std::size(kProvider)},
    {"serve", FT::object, false, nullptr, "enclave side: serve the link", kServe, std::size(kServe)},
    {"forward", FT::object, false, nullptr, "parent side: link client to the enclave", kForward, std::size(kForward)},
    {"demo", FT::object, false, nullptr, "the seed worker's test-notification loop (needs forward)", kDemo,
     std::size(kDemo)},
    {"queue", FT::object, false, nullptr, "parent side: durable queue and dispatcher to the link (needs forward)",
     kQueue, std::size(kQueue)},
    {"ingress", FT::object, false, nullptr, "parent side: HTTP API that accepts notifications (needs queue)", kIngress,
     std::size(kIngress)},
    {"relay", FT::object, false, nullptr, "parent side: egress relay from the enclave (vsock) to allowlisted hosts",
     relay::kRelaySchema, std::size(relay::kRelaySchema)},
};

}  // namespace

std::span<const FieldSpec> host_schema() { return kHost; }

}  // namespace notify::host
