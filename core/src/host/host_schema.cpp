#include "host/host_schema.hpp"

#include "parent/relay/relay_options.hpp"

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
constexpr FieldSpec kKmsEgress[] = {
    {"transport", FT::string, false, "tcp", "transport to reach KMS: vsock (to the parent's relay) or tcp (dev)"},
    {"address", FT::string, false, nullptr, "where the transport connects, e.g. 3:8000; default: the endpoint's host:port"},
};
constexpr FieldSpec kKms[] = {
    {"region", FT::string, true, nullptr, "AWS region of the key, e.g. us-east-1"},
    {"key_id", FT::string, true, nullptr, "the KMS key (ARN or key id; not an alias): an answer naming another key is refused"},
    {"endpoint", FT::string, false, "", "KMS endpoint; empty: https://kms.<region>.amazonaws.com"},
    {"ca_file", FT::string, false, "/etc/ssl/certs/ca-certificates.crt", "CA bundle the KMS certificate must chain to"},
    {"egress", FT::object, false, nullptr, "how the enclave's TLS bytes leave it", kKmsEgress, std::size(kKmsEgress)},
    {"connect_timeout", FT::duration, false, "5s", nullptr},
    {"request_timeout", FT::duration, false, "15s", "one Decrypt call, TLS included"},
};
constexpr FieldSpec kSourceKms[] = {
    {"encryption_context", FT::string_map, false, nullptr,
     "the context the ciphertext was encrypted with (binds it to this secret), e.g. {secret: braze.api_key}"},
};
constexpr FieldSpec kSource[] = {
    {"name", FT::string, true, nullptr, "secret name in the store, e.g. braze.api_key"},
    {"kms", FT::object, true, nullptr, "fetch it from KMS with the parent's ciphertext", kSourceKms, std::size(kSourceKms)},
};
constexpr FieldSpec kProvisioner[] = {
    {"name", FT::string, true, nullptr, "the operator, as logs name the signer, e.g. ops-1"},
    {"public_key", FT::string, false, nullptr, "PEM public key (ECDSA P-256 or Ed25519); or public_key_file"},
    {"public_key_file", FT::string, false, nullptr, "file holding the PEM public key"},
};
constexpr FieldSpec kSecrets[] = {
    {"allow_plaintext", FT::boolean, false, "false",
     "accept secrets sent in plaintext over the link (the seed's Initialize). INSECURE: dev only"},
    {"kms", FT::object, false, nullptr, "enclave side: AWS KMS for secrets.sources (needs serve.attestation)", kKms,
     std::size(kKms)},
    {"sources", FT::object_list, false, nullptr, "enclave side: secrets fetched unattended (from KMS)", kSource,
     std::size(kSource)},
    {"provisioners", FT::object_list, false, nullptr,
     "enclave side: operator keys; when listed, a sealed blob must be signed by one of them", kProvisioner,
     std::size(kProvisioner)},
};
constexpr FieldSpec kProvisionKms[] = {
    {"name", FT::string, true, nullptr, "the enclave's secret name, e.g. braze.api_key"},
    {"ciphertext_file", FT::string, true, nullptr,
     "base64 CiphertextBlob (aws kms encrypt output); empty: this entry is off"},
};
constexpr FieldSpec kProvision[] = {
    {"kms", FT::object_list, false, nullptr, "ciphertexts the enclave fetches from KMS itself", kProvisionKms,
     std::size(kProvisionKms)},
    {"aws_credentials", FT::string, false, "imds", "imds (IMDSv2 instance role) or env (AWS_ACCESS_KEY_ID, ...)"},
    {"imds_endpoint", FT::string, false, "http://169.254.169.254", "instance metadata service"},
    {"imds_role", FT::string, false, "", "instance role; empty: the one IMDS lists"},
    {"check_interval", FT::duration, false, "10s", "how often the enclave's secret state is checked"},
    {"retry_initial", FT::duration, false, "1s", "first retry after a failed fetch"},
    {"retry_max", FT::duration, false, "5m", "retry delay cap"},
    {"refresh_before", FT::duration, false, "5m", "refresh AWS credentials this long before they expire"},
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
    {"provision", FT::object, false, nullptr,
     "parent side: hand KMS ciphertexts and AWS credentials to the enclave (needs forward)", kProvision,
     std::size(kProvision)},
    {"relay", FT::object, false, nullptr, "parent side: egress relay from the enclave (vsock) to allowlisted hosts",
     relay::kRelaySchema, std::size(relay::kRelaySchema)},
};

}  // namespace

std::span<const FieldSpec> host_schema() { return kHost; }

}  // namespace notify::host
