#include "enclave/serve_factory.hpp"

#include "attestation/provisioners.hpp"
#include "aws/kms_client.hpp"
#include "enclave/dedup_memory.hpp"
#include "enclave/enclave_handler.hpp"
#include "enclave/identity/enclave_identity.hpp"
#include "enclave/identity_backend.hpp"
#include "enclave/kms_secret_loader.hpp"
#include "enclave/log_ring.hpp"
#include "enclave/secrets_factory.hpp"
#include "enclave/serve_service.hpp"
#include "runtime/log/log_sink.hpp"

#include <algorithm>

namespace notify::enclave {
namespace {

using FT = FieldType;

constexpr FieldSpec kDedup[] = {
    {"capacity", FT::integer, false, "100000", "request_ids remembered"},
    {"ttl", FT::duration, false, "1h", "how long a request_id is remembered"},
};
constexpr FieldSpec kLogs[] = {
    {"level", FT::string, false, "warning",
     "lowest level of the enclave's log lines kept for the parent (trace, debug, info, warning, error)"},
    {"buffer", FT::integer, false, "1000",
     "lines kept while no parent reads them; beyond, the oldest are dropped "
     "and counted"},
};
constexpr FieldSpec kServe[] = {
    {"transport", FT::string, false, "tcp", "transport plugin to listen on (tcp, vsock)"},
    {"listen", FT::string, true, nullptr, "address to listen on, e.g. 127.0.0.1:5000 or any:5000"},
    {"max_connections", FT::integer, false, "64", "link connections served at once"},
    {"io_timeout", FT::duration, false, "30s", "per-connection read/write timeout"},
    {"max_frame_bytes", FT::integer, false, "4194304", "largest link frame accepted"},
    {"workers", FT::integer, false, "16",
     "threads handling requests; at least the parent's queue.window, so every batch in flight reaches its provider"},
    {"dedup", FT::object, false, nullptr, "remembered request_ids, so a retried delivery is not sent twice", kDedup,
     std::size(kDedup)},
    {"attestation", FT::string, false, "none",
     "none, nsm (real Nitro /dev/nsm) or development (self-signed; never in production)"},
    {"logs", FT::object, false, nullptr,
     "the enclave's log lines, buffered for the parent (which writes them to its own log, tagged with this node)",
     kLogs, std::size(kLogs)},
};

std::size_t at_least_one(std::int64_t v) { return static_cast<std::size_t>(std::max<std::int64_t>(1, v)); }

// The identity exists only when the host really runs: --check-config opens no device and makes no key.
Result<std::unique_ptr<IdentityBackend>> make_identity(services::ServiceContext& ctx,
                                                       const config::YamlConfigView& serve, const std::string& mode,
                                                       std::vector<attestation::Provisioner> provisioners) {
  auto id = attestation::EnclaveIdentity::create(
      mode == "nsm" ? attestation::AttesterMode::nsm : attestation::AttesterMode::development, ctx.log());
  if (!id) {
    return Error{id.error().code, serve.location("attestation") + ": serve.attestation: " + id.error().message};
  }
  if (provisioners.empty() && mode == "nsm") {
    ctx.log().warning(
        "secrets.provisioners is empty: a sealed blob is accepted whoever sealed it (list the operators' keys so that "
        "the parent cannot provision a value of its own)");
  } else if (!provisioners.empty()) {
    ctx.log().info("sealed provisioning: blobs must be signed by one of: " +
                   attestation::provisioner_names(provisioners));
  }
  return std::make_unique<IdentityBackend>(std::move(id.value()), std::move(provisioners), ctx.log());
}

Status build(services::ServiceContext& ctx, const config::YamlConfigView& serve) {
  auto cfg = serve_config_from(serve, ctx.node());
  if (!cfg) return cfg.error();
  auto transport = ctx.transport(serve, "transport");
  if (!transport) return transport.error();
  const auto secrets = ctx.section("secrets");
  services::EnclaveHandlerOptions hopts;
  hopts.node = ctx.node();
  hopts.allow_plaintext_secrets = secrets->bool_value("allow_plaintext");
  const std::string& mode = cfg->attestation;

  // secrets.provisioners: parsed in check mode too, so --check-config reports a bad key with its file:line.
  auto provisioners = attestation::provisioners_from_config(*secrets);
  if (!provisioners) return provisioners.error();
  if (!provisioners->empty() && mode == "none") {
    return Error{Errc::invalid_argument,
                 secrets->location("provisioners") +
                     ": secrets.provisioners: sealed provisioning needs serve.attestation: nsm (or development)"};
  }
  std::unique_ptr<services::AttestationBackend> attestation_backend;
  IdentityBackend* identity = nullptr;  // owned by the handler, through attestation_backend
  if (mode != "none" && !ctx.checking()) {
    auto backend = make_identity(ctx, serve, mode, std::move(provisioners.value()));
    if (!backend) return backend.error();
    identity = backend->get();
    attestation_backend = std::move(backend.value());
  }

  auto kms = kms_config_from(*secrets);
  if (!kms) return kms.error();
  std::shared_ptr<Transport> kms_egress;
  if (kms->has_value()) {
    if (mode == "none") {
      return Error{Errc::invalid_argument,
                   serve.location("attestation") +
                       ": serve.attestation: secrets.kms needs nsm (or development): KMS answers only an attested "
                       "Recipient"};
    }
    auto egress = ctx.plugins().transport((*kms)->options.egress_transport);
    if (!egress) {
      return Error{egress.error().code,
                   secrets->location("kms") + ": secrets.kms.egress.transport: " + egress.error().message};
    }
    kms_egress = std::move(egress.value());
  }

  auto memory = std::make_unique<DedupMemory>(cfg->dedup_capacity, cfg->dedup_ttl);
  auto handler = std::make_unique<services::EnclaveHandler>(
      ctx.plugins(), ctx.secrets(), hopts, std::move(attestation_backend), std::move(memory), ctx.log(), ctx.metrics());
  if (!ctx.checking()) {
    // Every line this process writes (redacted first) also goes to the ring, for the parent to fetch over the link.
    auto ring = std::make_shared<LogRing>(cfg->log_buffer, cfg->log_level);
    logging::LogSink::instance().set_tap([ring](LogLevel level, std::string_view component, std::string_view message) {
      ring->push(level, component, message);
    });
    handler->set_log_ring(ring);
  }
  if (kms->has_value() && identity != nullptr) {
    auto kms_log = ctx.logger("kms");
    auto client = std::make_unique<aws::KmsClient>(kms_egress, (*kms)->options, *kms_log);
    ctx.log().info("secrets from AWS KMS (" + (*kms)->options.key_id + "): " + std::to_string((*kms)->sources.size()) +
                   " source(s); waiting for the parent's ciphertexts and credentials");
    handler->set_kms_loader(
        std::make_unique<KmsSecretLoader>(std::move(client), std::move((*kms)->sources), *identity, ctx.secrets(),
                                          *kms_log, KmsSecretLoader::Clock(std::chrono::system_clock::now),
                                          [&metrics = ctx.metrics()](bool ok) { metrics.attestation("kms", ok); }));
  }
  ctx.add(std::make_unique<services::ServeService>(std::move(transport.value()), cfg->listen, cfg->server,
                                                   std::move(handler), ctx.logger("link")));
  if (hopts.allow_plaintext_secrets) {
    ctx.log().warning("secrets.allow_plaintext is true: secrets may arrive in plaintext from the parent (dev only)");
  }
  return {};
}

}  // namespace

Result<ServeConfig> serve_config_from(const config::YamlConfigView& serve, const std::string& node) {
  ServeConfig c;
  c.transport = serve.string_value("transport");
  c.listen = serve.string_value("listen");
  c.server.node_name = node;
  c.server.max_connections = at_least_one(serve.int_value("max_connections"));
  c.server.io_timeout = serve.duration_value("io_timeout");
  c.server.max_frame_bytes = static_cast<std::uint32_t>(serve.int_value("max_frame_bytes"));
  c.server.worker_threads = at_least_one(serve.int_value("workers"));
  const auto dedup = serve.object("dedup");
  c.dedup_capacity = at_least_one(dedup->int_value("capacity"));
  c.dedup_ttl = dedup->duration_value("ttl");
  const auto logs = serve.object("logs");
  const auto level = logging::parse_level(logs->string_value("level"));
  if (!level) {
    return Error{Errc::invalid_argument, logs->location("level") + ": serve.logs.level: '" +
                                             logs->string_value("level") +
                                             "' is not one of trace, debug, info, warning, error"};
  }
  c.log_level = *level;
  c.log_buffer = at_least_one(logs->int_value("buffer"));
  c.attestation = serve.string_value("attestation");
  if (c.attestation != "none" && c.attestation != "nsm" && c.attestation != "development") {
    return Error{Errc::invalid_argument, serve.location("attestation") + ": serve.attestation: '" + c.attestation +
                                             "' is not one of none, nsm, development"};
  }
  return c;
}

services::ServiceFactory serve_factory() {
  return {{"serve", FT::object, false, nullptr, "enclave side: serve the link", kServe, std::size(kServe)},
          {},
          nullptr,
          build};
}

}  // namespace notify::enclave
