#include "host/host_runtime.hpp"

#include "runtime/config/yaml_config_view.hpp"
#include "host/host_schema.hpp"
#include "parent/demo_service.hpp"
#include "parent/dispatch/dispatch_service.hpp"
#include "parent/ingress/ingress_service.hpp"
#include "parent/queue/redis_queue.hpp"
#include "parent/queue/sqlite_queue.hpp"
#include "parent/forward_service.hpp"
#include "enclave/serve_service.hpp"
#include "enclave/identity/enclave_identity.hpp"
#include "attestation/provisioners.hpp"
#include "enclave/identity/sealed_provisioning.hpp"
#include "enclave/dedup_cache.hpp"
#include "enclave/identity/entropy.hpp"
#include "parent/relay/relay_service.hpp"
#include "aws/credential_source.hpp"
#include "aws/kms_client.hpp"
#include "enclave/kms_secret_loader.hpp"
#include "parent/kms_provisioner.hpp"

#include <openssl/rand.h>

#include <cstdlib>

#ifndef NOTIFY_BUILD_PLUGIN_DIR
#define NOTIFY_BUILD_PLUGIN_DIR ""
#endif
#ifndef NOTIFY_INSTALL_PLUGIN_DIR
#define NOTIFY_INSTALL_PLUGIN_DIR "/usr/local/lib/notify/plugins"
#endif

namespace notify::host {
namespace {

std::unique_ptr<config::YamlConfigView> section(const std::shared_ptr<config::ConfigDocument>& doc,
                                                const std::string& key) {
  std::span<const FieldSpec> schema;
  for (const auto& f : host_schema()) {
    if (key == f.key && f.children != nullptr) schema = {f.children, f.children_size};
  }
  YAML::Node node = doc->root()[key];
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  return std::make_unique<config::YamlConfigView>(doc, node, schema, key, key);
}

Status configure_logging(const std::shared_ptr<config::ConfigDocument>& doc) {
  auto log = section(doc, "log");
  LogLevel level = LogLevel::info;
  std::map<std::string, LogLevel> components;
  logging::Format format = logging::Format::text;
  if (log) {
    auto lv = logging::parse_level(log->get_string("level").value_or("info"));
    if (!lv) return Error{Errc::invalid_argument, log->location("level") + ": log.level: not one of trace, debug, info, warning, error"};
    level = *lv;
    for (const auto& [name, text] : log->get_string_map("components")) {
      auto c = logging::parse_level(text);
      if (!c) return Error{Errc::invalid_argument, log->location("components") + ": log.components." + name + ": bad level '" + text + "'"};
      components[name] = *c;
    }
    const auto f = log->get_string("format").value_or("text");
    if (f == "json") format = logging::Format::json;
    else if (f != "text") return Error{Errc::invalid_argument, log->location("format") + ": log.format: must be text or json"};
  }
  // NOTIFY_LOG wins over the file, like RUST_LOG in the seed: "debug,link=trace".
  if (const char* env = std::getenv("NOTIFY_LOG"); env != nullptr && *env != '\0') {
    auto spec = logging::parse_level_spec(env);
    if (!spec) return Error{Errc::invalid_argument, "NOTIFY_LOG: " + spec.error().message};
    if (spec->default_level) level = *spec->default_level;
    for (auto& [k, v] : spec->components) components[k] = v;
  }
  logging::LogSink::instance().configure(level, std::move(components), format);
  return {};
}

// The serve path's request_id memory, backed by the bounded LRU+TTL cache.
class DedupMemory final : public services::DeliveryMemory {
 public:
  DedupMemory(std::size_t capacity, std::chrono::milliseconds ttl) : cache_(capacity, ttl) {}
  std::optional<DeliveryResult> find(const std::string& id) override { return cache_.find(id); }
  void remember(const std::string& id, const DeliveryResult& r) override { cache_.remember(id, r); }

 private:
  delivery::DedupCache cache_;
};

// serve.attestation: nsm or development — the enclave identity answers attest, opens sealed secrets, and is the
// Recipient of the enclave's own KMS calls.
class IdentityBackend final : public services::AttestationBackend, public enclave::RecipientIdentity {
 public:
  IdentityBackend(std::unique_ptr<attestation::EnclaveIdentity> id, std::vector<attestation::Provisioner> provisioners,
                  Log& log)
      : id_(std::move(id)), sealed_(*id_, std::move(provisioners), log) {}
  Result<std::vector<std::byte>> recipient_document() override {
    // KMS needs no nonce; a fresh one still makes every document distinct.
    std::vector<std::byte> nonce(16);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) != 1) {
      return Error{Errc::internal, "no randomness for the attestation nonce"};
    }
    return id_->attest(nonce);
  }
  Result<Secret> open_for_recipient(std::span<const std::byte> blob) override { return id_->open_kms_recipient(blob); }
  Result<link::AttestReply> attest(const link::AttestRequest& request) override {
    auto doc = request.purpose == link::AttestPurpose::provisioning ? sealed_.attest_for_provisioning()
                                                                    : sealed_.attest_for_verification(request.nonce);
    if (!doc) return doc.error();
    return link::AttestReply{std::move(doc.value()), id_->development()};
  }
  Result<Secret> open_sealed(const std::string& secret_name, std::span<const std::byte> blob) override {
    return sealed_.open(secret_name, blob);
  }

 private:
  std::unique_ptr<attestation::EnclaveIdentity> id_;
  attestation::SealedProvisioning sealed_;  // after id_: it uses the identity
};

// relay: — the egress relay as one of the host's services.
class RelayHostService final : public services::Service {
 public:
  RelayHostService(std::shared_ptr<Transport> listen, std::shared_ptr<Transport> upstream, relay::RelayOptions options,
                   std::shared_ptr<Log> log)
      : log_(std::move(log)), relay_(std::move(listen), std::move(upstream), std::move(options), *log_) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "relay"; }
  Status start() override { return relay_.start(); }
  void stop() override { relay_.stop(); }

 private:
  std::shared_ptr<Log> log_;  // declared before relay_, which holds a reference to it
  relay::RelayService relay_;
};

// secrets.kms + secrets.sources: the options and sources, checked (file:line on every problem).
struct KmsConfig {
  aws::KmsOptions options;
  std::vector<enclave::KmsSecretSource> sources;
};

Result<std::optional<KmsConfig>> kms_config_from(const config::YamlConfigView* secrets) {
  if (secrets == nullptr) return std::optional<KmsConfig>{};
  const bool has_sources = !secrets->get_object_list("sources").empty();
  if (!secrets->has("kms")) {
    if (has_sources) {
      return Error{Errc::invalid_argument, secrets->location("sources") + ": secrets.sources: needs a secrets.kms block"};
    }
    return std::optional<KmsConfig>{};
  }
  auto kms = secrets->get_object("kms");
  KmsConfig out;
  auto& o = out.options;
  o.region = kms->get_string("region").value_or("");
  o.key_id = kms->get_string("key_id").value_or("");
  o.endpoint = kms->get_string("endpoint").value_or("");
  o.ca_file = kms->get_string("ca_file").value_or("");
  if (auto egress = kms->get_object("egress")) {
    o.egress_transport = egress->get_string("transport").value_or(o.egress_transport);
    o.egress_address = egress->get_string("address").value_or("");
  }
  o.connect_timeout = kms->get_duration("connect_timeout").value_or(o.connect_timeout);
  o.request_timeout = kms->get_duration("request_timeout").value_or(o.request_timeout);
  if (auto st = aws::validate_kms_options(o); !st) {
    return Error{Errc::invalid_argument, kms->location("") + ": secrets.kms: " + st.message()};
  }
  for (const auto& src : secrets->get_object_list("sources")) {
    enclave::KmsSecretSource source;
    source.name = src->get_string("name").value_or("");
    if (source.name.empty()) return Error{Errc::invalid_argument, src->location("name") + ": secrets.sources.name: empty"};
    for (const auto& s : out.sources) {
      if (s.name == source.name) {
        return Error{Errc::invalid_argument, src->location("name") + ": secrets.sources: '" + source.name + "' listed twice"};
      }
    }
    source.encryption_context = src->get_object("kms")->get_string_map("encryption_context");
    out.sources.push_back(std::move(source));
  }
  if (out.sources.empty()) {
    return Error{Errc::invalid_argument, kms->location("") + ": secrets.kms: no secrets.sources entry uses it"};
  }
  return std::optional<KmsConfig>{std::move(out)};
}

}  // namespace

std::vector<std::filesystem::path> plugin_search_path(const config::ConfigDocument* doc) {
  std::vector<std::filesystem::path> out;
  if (const char* env = std::getenv("NOTIFY_PLUGIN_PATH"); env != nullptr) {
    std::string_view s = env;
    while (!s.empty()) {
      auto colon = s.find(':');
      if (colon != 0) out.emplace_back(std::string(s.substr(0, colon)));
      if (colon == std::string_view::npos) break;
      s.remove_prefix(colon + 1);
    }
  }
  if (doc != nullptr) {
    const YAML::Node p = doc->root()["plugins"];
    if (p && p["path"] && p["path"].IsSequence()) {
      for (const auto& item : p["path"]) out.emplace_back(item.Scalar());
    }
  }
  if (std::string_view(NOTIFY_BUILD_PLUGIN_DIR).size() > 0) out.emplace_back(NOTIFY_BUILD_PLUGIN_DIR);
  out.emplace_back(NOTIFY_INSTALL_PLUGIN_DIR);
  return out;
}

Result<std::unique_ptr<HostRuntime>> HostRuntime::create(const std::filesystem::path& config_file,
                                                         std::function<void()> request_shutdown, Mode mode) {
  std::unique_ptr<HostRuntime> rt(new HostRuntime());  // private constructor
  rt->request_shutdown_ = std::move(request_shutdown);
  rt->mode_ = mode;
  auto doc = config::ConfigDocument::load(config_file, config::process_env());
  if (!doc) return doc.error();
  rt->doc_ = std::move(doc.value());
  if (auto st = rt->doc_->validate(rt->doc_->root(), host_schema(), ""); !st) return st.error();
  if (auto st = configure_logging(rt->doc_); !st) return st.error();

  rt->secrets_ = std::make_unique<secrets::MemorySecretStore>();
  auto* store = rt->secrets_.get();
  logging::LogSink::instance().set_redactor([store](std::string& line) { store->redact(line); });

  const std::string node = rt->doc_->root()["node"] ? rt->doc_->root()["node"].Scalar() : "notify";
  rt->log_ = logging::LogSink::instance().logger("host");
  rt->registry_ = std::make_unique<plugin::PluginRegistry>(plugin_search_path(rt->doc_.get()));
  rt->plugins_ = std::make_unique<plugin::PluginSet>(
      rt->doc_, *rt->registry_, *rt->secrets_,
      [](const std::string& component) { return logging::LogSink::instance().logger(component); });
  if (auto st = rt->plugins_->load_providers(); !st) return st.error();
  // Before any TLS: inside a Nitro enclave, mix the NSM's hardware randomness into OpenSSL's RNG (logs the source).
  if (mode == Mode::run) seed_rng_from_nsm_if_present(*rt->log_);
  if (auto st = rt->build_services(); !st) return st.error();
  return rt;
}

HostRuntime::~HostRuntime() {
  stop();
  // The redactor points into secrets_, which dies with us.
  logging::LogSink::instance().set_redactor(nullptr);
}

Status HostRuntime::build_services() {
  const std::string node = doc_->root()["node"] ? doc_->root()["node"].Scalar() : "notify";
  auto sink_logger = [](const std::string& c) { return logging::LogSink::instance().logger(c); };

  if (auto r = section(doc_, "relay"); r && r->get_bool("enabled").value_or(true)) {
    auto options = relay::relay_options_from(*r);
    if (!options) return Error{options.error().code, options.error().message};
    auto listen = plugins_->transport(r->get_string("listen_transport").value_or("vsock"));
    if (!listen) return Error{listen.error().code, r->location("listen_transport") + ": relay.listen_transport: " + listen.error().message};
    auto upstream = plugins_->transport(r->get_string("upstream_transport").value_or("tcp"));
    if (!upstream) {
      return Error{upstream.error().code, r->location("upstream_transport") + ": relay.upstream_transport: " + upstream.error().message};
    }
    if (mode_ == Mode::run) {
      services_.push_back(std::make_unique<RelayHostService>(std::move(listen.value()), std::move(upstream.value()),
                                                             std::move(options.value()), sink_logger("relay")));
    }
  }

  if (auto serve = section(doc_, "serve")) {
    const auto transport_name = serve->get_string("transport").value_or("tcp");
    auto transport = plugins_->transport(transport_name);
    if (!transport) return Error{transport.error().code, serve->location("transport") + ": serve.transport: " + transport.error().message};
    link::ServerOptions opts;
    opts.node_name = node;
    opts.max_connections = static_cast<std::size_t>(serve->get_int("max_connections").value_or(64));
    opts.io_timeout = serve->get_duration("io_timeout").value_or(std::chrono::seconds(30));
    opts.max_frame_bytes = static_cast<std::uint32_t>(serve->get_int("max_frame_bytes").value_or(4 << 20));
    opts.worker_threads = static_cast<std::size_t>(serve->get_int("workers").value_or(4));
    auto secrets_view = section(doc_, "secrets");
    services::EnclaveHandlerOptions hopts;
    hopts.node = node;
    hopts.allow_plaintext_secrets = secrets_view && secrets_view->get_bool("allow_plaintext").value_or(false);
    const auto mode = serve->get_string("attestation").value_or("none");
    std::unique_ptr<services::AttestationBackend> attestation_backend;
    IdentityBackend* identity = nullptr;  // owned by the handler, through attestation_backend
    // secrets.provisioners: parsed in check mode too, so --check-config reports a bad key with its file:line.
    std::vector<attestation::Provisioner> provisioners;
    if (secrets_view) {
      auto listed = attestation::provisioners_from_config(*secrets_view);
      if (!listed) return listed.error();
      provisioners = std::move(listed.value());
    }
    if (!provisioners.empty() && mode == "none") {
      return Error{Errc::invalid_argument, secrets_view->location("provisioners") +
                                               ": secrets.provisioners: sealed provisioning needs serve.attestation: "
                                               "nsm (or development)"};
    }
    if ((mode == "nsm" || mode == "development") && mode_ == Mode::check) {
      // Valid value; the identity (device, keys) is made only when the host really runs.
    } else if (mode == "nsm" || mode == "development") {
      auto id = attestation::EnclaveIdentity::create(
          mode == "nsm" ? attestation::AttesterMode::nsm : attestation::AttesterMode::development, *log_);
      if (!id) return Error{id.error().code, serve->location("attestation") + ": serve.attestation: " + id.error().message};
      if (provisioners.empty() && mode == "nsm") {
        log_->warning("secrets.provisioners is empty: a sealed blob is accepted whoever sealed it (list the operators' "
                      "keys so that the parent cannot provision a value of its own)");
      } else if (!provisioners.empty()) {
        log_->info("sealed provisioning: blobs must be signed by one of: " + attestation::provisioner_names(provisioners));
      }
      auto backend = std::make_unique<IdentityBackend>(std::move(id.value()), std::move(provisioners), *log_);
      identity = backend.get();
      attestation_backend = std::move(backend);
    } else if (mode != "none") {
      return Error{Errc::invalid_argument, serve->location("attestation") + ": serve.attestation: '" + mode +
                                               "' is not one of none, nsm, development"};
    }
    auto dedup = serve->get_object("dedup");
    auto memory = std::make_unique<DedupMemory>(
        static_cast<std::size_t>(std::max<std::int64_t>(1, dedup->get_int("capacity").value_or(100000))),
        dedup->get_duration("ttl").value_or(std::chrono::hours(1)));
    auto kms = kms_config_from(secrets_view.get());
    if (!kms) return kms.error();
    std::shared_ptr<Transport> kms_egress;
    if (kms->has_value()) {
      if (mode == "none") {
        return Error{Errc::invalid_argument, serve->location("attestation") +
                                                 ": serve.attestation: secrets.kms needs nsm (or development): KMS "
                                                 "answers only an attested Recipient"};
      }
      auto egress = plugins_->transport((*kms)->options.egress_transport);
      if (!egress) {
        return Error{egress.error().code, secrets_view->location("kms") + ": secrets.kms.egress.transport: " +
                                              egress.error().message};
      }
      kms_egress = std::move(egress.value());
    }
    auto handler = std::make_unique<services::EnclaveHandler>(*plugins_, *secrets_, hopts, std::move(attestation_backend),
                                                              std::move(memory), *log_);
    if (kms->has_value() && identity != nullptr) {
      auto kms_log = loggers_.emplace_back(sink_logger("kms"));
      auto client = std::make_unique<aws::KmsClient>(kms_egress, (*kms)->options, *kms_log);
      log_->info("secrets from AWS KMS (" + (*kms)->options.key_id + "): " + std::to_string((*kms)->sources.size()) +
                 " source(s); waiting for the parent's ciphertexts and credentials");
      handler->set_kms_loader(std::make_unique<enclave::KmsSecretLoader>(std::move(client), std::move((*kms)->sources),
                                                                         *identity, *secrets_, *kms_log));
    }
    services_.push_back(std::make_unique<services::ServeService>(
        std::move(transport.value()), serve->get_string("listen").value_or(""), opts, std::move(handler),
        sink_logger("link")));
    if (hopts.allow_plaintext_secrets) {
      log_->warning("secrets.allow_plaintext is true: secrets may arrive in plaintext from the parent (dev only)");
    }
  }

  services::ForwardService* forward = nullptr;
  if (auto fwd = section(doc_, "forward")) {
    const auto transport_name = fwd->get_string("transport").value_or("tcp");
    auto transport = plugins_->transport(transport_name);
    if (!transport) return Error{transport.error().code, fwd->location("transport") + ": forward.transport: " + transport.error().message};
    link::ClientOptions opts;
    opts.node_name = node;
    opts.address = fwd->get_string("address").value_or("");
    opts.connect_timeout = fwd->get_duration("connect_timeout").value_or(std::chrono::seconds(5));
    opts.request_timeout = fwd->get_duration("request_timeout").value_or(std::chrono::seconds(30));
    opts.backoff_initial = fwd->get_duration("backoff_initial").value_or(std::chrono::milliseconds(100));
    opts.backoff_max = fwd->get_duration("backoff_max").value_or(std::chrono::seconds(10));
    opts.max_attempts = static_cast<int>(fwd->get_int("max_attempts").value_or(5));
    opts.max_frame_bytes = static_cast<std::uint32_t>(fwd->get_int("max_frame_bytes").value_or(4 << 20));
    auto svc = std::make_unique<services::ForwardService>(std::move(transport.value()), opts, sink_logger("link"));
    forward = svc.get();
    services_.push_back(std::move(svc));
  }

  if (auto prov = section(doc_, "provision")) {
    if (forward == nullptr) return Error{Errc::invalid_argument, prov->location("") + ": provision: needs a forward: section"};
    parent::KmsProvisionerOptions po;
    for (const auto& e : prov->get_object_list("kms")) {
      const auto file = e->get_string("ciphertext_file").value_or("");
      if (file.empty()) continue;  // e.g. ${BRAZE_KEY_CIPHERTEXT_FILE:-} unset: this entry is off
      po.secrets.push_back({e->get_string("name").value_or(""), file, e->location("ciphertext_file")});
    }
    po.check_interval = prov->get_duration("check_interval").value_or(po.check_interval);
    po.retry_initial = prov->get_duration("retry_initial").value_or(po.retry_initial);
    po.retry_max = prov->get_duration("retry_max").value_or(po.retry_max);
    po.refresh_before = prov->get_duration("refresh_before").value_or(po.refresh_before);
    const auto source = prov->get_string("aws_credentials").value_or("imds");
    std::unique_ptr<aws::CredentialSource> credentials;
    if (source == "env") {
      credentials = aws::make_env_credential_source();
    } else if (source == "imds") {
      aws::ImdsOptions io;
      io.endpoint = prov->get_string("imds_endpoint").value_or(io.endpoint);
      io.role = prov->get_string("imds_role").value_or("");
      credentials = aws::make_imds_credential_source(io);
    } else {
      return Error{Errc::invalid_argument, prov->location("aws_credentials") + ": provision.aws_credentials: '" + source +
                                               "' is not one of imds, env"};
    }
    if (po.secrets.empty()) {
      log_->info("provision.kms: no ciphertext file configured; KMS provisioning is off");
    } else if (mode_ == Mode::run) {
      services_.push_back(std::make_unique<parent::KmsProvisioner>(forward->client(), std::move(credentials),
                                                                   std::move(po), sink_logger("provision")));
    }
  }

  services::DispatchService* dispatch = nullptr;
  if (auto q = section(doc_, "queue")) {
    if (forward == nullptr) return Error{Errc::invalid_argument, q->location("") + ": queue: needs a forward: section"};
    const auto backend = q->get_string("backend").value_or("sqlite");
    if (backend != "sqlite" && backend != "redis") {
      return Error{Errc::invalid_argument, q->location("backend") + ": queue.backend: '" + backend +
                                               "' is not one of sqlite, redis"};
    }
    if (backend == "sqlite" && !q->has("path")) {
      return Error{Errc::invalid_argument, q->location("") + ": queue.path: required for the sqlite backend"};
    }
    delivery::QueueOptions qo;
    qo.capacity = static_cast<std::size_t>(std::max<std::int64_t>(1, q->get_int("capacity").value_or(100000)));
    qo.max_attempts = static_cast<int>(std::max<std::int64_t>(1, q->get_int("max_attempts").value_or(10)));
    qo.backoff_initial = q->get_duration("backoff_initial").value_or(std::chrono::seconds(1));
    qo.backoff_max = q->get_duration("backoff_max").value_or(std::chrono::minutes(5));
    qo.lease = q->get_duration("lease").value_or(std::chrono::seconds(60));
    qo.retention = q->get_duration("retention").value_or(std::chrono::hours(24 * 7));
    if (mode_ == Mode::run) {
      if (backend == "sqlite") {
        auto opened = delivery::SqliteQueue::open(q->get_string("path").value_or(""), qo);
        if (!opened) return Error{opened.error().code, q->location("path") + ": queue.path: " + opened.error().message};
        queue_ = std::move(opened.value());
      } else {
        delivery::RedisOptions ro;
        ro.address = q->get_string("redis_address").value_or(ro.address);
        ro.prefix = q->get_string("redis_prefix").value_or(ro.prefix);
        ro.group = q->get_string("redis_group").value_or(ro.group);
        ro.consumer = q->get_string("redis_consumer").value_or("");
        auto opened = delivery::RedisQueue::open(ro, qo);
        if (!opened) {
          return Error{opened.error().code, q->location("redis_address") + ": queue.redis_address: " + opened.error().message};
        }
        queue_ = std::move(opened.value());
      }
      services::DispatchOptions dopts;
      dopts.batch_size = static_cast<std::size_t>(std::max<std::int64_t>(1, q->get_int("batch_size").value_or(50)));
      dopts.poll_interval = q->get_duration("poll_interval").value_or(std::chrono::milliseconds(200));
      // Purge at most once a minute, or more often when the retention itself is shorter (tests, small disks).
      dopts.purge_interval = std::min<std::chrono::milliseconds>(std::chrono::minutes(1), std::max(qo.retention, std::chrono::milliseconds(100)));
      auto svc = std::make_unique<services::DispatchService>(*queue_, forward->client(), dopts, metrics_,
                                                             sink_logger("dispatch"));
      dispatch = svc.get();
      services_.push_back(std::move(svc));
    }
  }

  if (auto in = section(doc_, "ingress")) {
    if (!section(doc_, "queue")) return Error{Errc::invalid_argument, in->location("") + ": ingress: needs a queue: section"};
    services::IngressOptions io;
    io.listen = in->get_string("listen").value_or("127.0.0.1:8088");
    io.max_body_bytes = static_cast<std::size_t>(std::max<std::int64_t>(1, in->get_int("max_body_bytes").value_or(1 << 20)));
    if (auto token = in->raw_secret("token"); token && !token->empty()) {
      secrets_->put("ingress.token", Secret(*token), SecretOrigin::config);  // so the log redactor knows it
      io.token = Secret(*token);
    }
    if (mode_ == Mode::run) {
      auto* fwd = forward;
      auto* disp = dispatch;
      services_.push_back(std::make_unique<services::IngressService>(
          std::move(io), *queue_, metrics_, [fwd] { return fwd->client().connected(); },
          [disp] {
            if (disp != nullptr) disp->wake();
          },
          sink_logger("ingress")));
    }
  }

  if (auto demo = section(doc_, "demo"); demo && demo->get_bool("enabled").value_or(true)) {
    if (forward == nullptr) return Error{Errc::invalid_argument, demo->location("") + ": demo: needs a forward: section"};
    services::DemoOptions opts;
    opts.interval = demo->get_duration("interval").value_or(std::chrono::seconds(30));
    opts.count = demo->get_int("count").value_or(0);
    opts.external_user_id = demo->get_string("external_user_id").value_or("user123");
    opts.title = demo->get_string("title").value_or(opts.title);
    opts.message = demo->get_string("message").value_or(opts.message);
    opts.provider = demo->get_string("provider").value_or("");
    opts.enclave_address = forward->options().address;
    opts.transport = section(doc_, "forward")->get_string("transport").value_or("tcp");
    auto init = demo->get_object("initialize");
    auto* init_view = dynamic_cast<config::YamlConfigView*>(init.get());
    opts.init_secret_name = init->get_string("secret").value_or("braze.api_key");
    if (demo->get_bool("exit_when_done").value_or(false) && opts.count > 0 && request_shutdown_) {
      opts.on_finished = request_shutdown_;
    }
    if (init_view != nullptr) {
      if (auto v = init_view->raw_secret("value"); v && !v->empty()) opts.init_secret_value = Secret(*v);
    }
    services_.push_back(std::make_unique<services::DemoService>(forward->client(), std::move(opts), sink_logger("demo")));
  }

  if (services_.empty() && mode_ == Mode::run) {
    return Error{Errc::invalid_argument, doc_->file() + ": nothing to run: declare at least one of serve, forward, demo"};
  }
  return {};
}

Status HostRuntime::start() {
  for (; started_ < services_.size(); ++started_) {
    if (auto st = services_[started_]->start(); !st) {
      stop();
      return Error{st.code(), std::string(services_[started_]->name()) + ": " + st.message()};
    }
  }
  return {};
}

void HostRuntime::stop() {
  // Reverse order: demo before forward, dispatcher before queue, so nothing sends into a stopped service.
  while (started_ > 0) {
    --started_;
    services_[started_]->stop();
  }
}

}  // namespace notify::host
