#include "parent/demo_service.hpp"

#include <notify/toolkit/host_port.hpp>

#include <Poco/UUIDGenerator.h>

namespace notify::services {
namespace {

// "16:5000" on vsock reads as the seed's "CID: 16, Port: 5000"; other transports show the address as is.
std::string describe_enclave(const std::string& transport, const std::string& address) {
  if (transport == "vsock") {
    if (auto cid_port = toolkit::split_host_port(address, "enclave address")) {
      return "CID: " + std::string(cid_port->host) + ", Port: " + std::string(cid_port->port);
    }
  }
  return address + " (" + transport + ")";
}

}  // namespace

DemoService::DemoService(link::LinkClient& client, DemoOptions options, std::shared_ptr<Log> log)
    : client_(client), options_(std::move(options)), log_(std::move(log)) {}

DemoService::~DemoService() { stop(); }

Status DemoService::start() {
  thread_.start([this] { run(); });
  return {};
}

void DemoService::stop() { thread_.stop(); }

bool DemoService::send_test(std::uint64_t sequence) {
  log_->info("📨 Sending test notification...");
  Notification n;
  n.request_id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
  if (options_.device_token.empty()) {
    n.external_user_ids = {options_.external_user_id};
  } else {
    n.device_tokens = {options_.device_token};
  }
  n.title = options_.title;
  n.message = options_.message;
  n.custom_data = {{"source", "enclave-notify-demo"}, {"sequence", std::to_string(sequence)}};
  n.provider = options_.provider;
  auto results = client_.deliver(std::span<const Notification>(&n, 1));
  if (!results) {
    log_->error("❌ Failed to send notification " + n.request_id + ": " + results.error().message);
    return false;
  }
  const auto& r = results->front();
  switch (r.outcome) {
    case Outcome::delivered:
      log_->info("✅ Notification sent successfully! request_id=" + n.request_id +
                 (r.reference.empty() ? "" : " reference=" + r.reference));
      return true;
    case Outcome::rejected:
      log_->error("❌ Notification " + n.request_id + " rejected: " + r.reason);
      return false;
    case Outcome::retryable:
      log_->warning("⚠️ Notification " + n.request_id + " not delivered yet (retryable): " + r.reason);
      return false;
  }
  return false;
}

void DemoService::run() {
  log_->info("🚀 Starting Enclave Worker");
  log_->info("📡 Connecting to enclave at " + describe_enclave(options_.transport, options_.enclave_address));
  while (!client_.wait_connected(std::chrono::seconds(1))) {
    if (thread_.stopping()) return;
    log_->warning("⏳ Enclave not reachable yet at " + options_.enclave_address + "; retrying");
  }

  log_->info("🔐 Initializing secure enclave with Braze configuration...");
  if (options_.init_secret_value && !options_.init_secret_value->empty()) {
    // The seed's Initialize: the parent holds the key and sends it. Kept for dev; production uses sealed provisioning.
    log_->warning("INSECURE: sending secret '" + options_.init_secret_name +
                  "' to the enclave in plaintext (demo.initialize.value); use notify-ctl provision in production");
    const auto v = options_.init_secret_value->reveal();
    link::ProvisionRequest req;
    req.secret_name = options_.init_secret_name;
    req.mode = link::ProvisionMode::plaintext_insecure;
    req.payload.assign(reinterpret_cast<const std::byte*>(v.data()),
                       reinterpret_cast<const std::byte*>(v.data() + v.size()));
    auto st = client_.provision(req);
    explicit_bzero(req.payload.data(), req.payload.size());
    if (!st) {
      log_->error("❌ Failed to initialize enclave: " + st.message());
    } else {
      log_->info("✅ Enclave initialized successfully");
    }
  } else {
    // The enclave gets its secrets itself (KMS bootstrap or sealed provisioning): give an unattended bootstrap a
    // moment to finish before the first test send, saying what is still missing.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    bool said = false;
    for (;;) {
      auto h = client_.health();
      if (!h || h->initialized || std::chrono::steady_clock::now() >= deadline) break;
      if (!said) {
        for (const auto& sec : h->secrets) {
          if (sec.state == link::SecretState::installed) continue;
          log_->info("⏳ Waiting for the enclave's secret '" + sec.name + "' (" + link::secret_state_name(sec.state) +
                     (sec.detail.empty() ? "" : ": " + sec.detail) + ")");
          said = true;
        }
      }
      if (!thread_.wait_for(std::chrono::milliseconds(250))) return;
    }
    log_->info("✅ Enclave initialized successfully (no secret sent from the parent; the enclave holds its own)");
  }

  log_->info("🏥 Performing health check...");
  auto health = client_.health();
  if (!health) {
    log_->error("❌ Health check failed: " + health.error().message);
  } else {
    log_->info(std::string("✅ Health check passed. Enclave initialized: ") + (health->initialized ? "true" : "false"));
    for (const auto& p : health->providers) {
      if (!p.ready) log_->warning("provider '" + p.name + "' not ready: " + p.detail);
    }
  }

  std::uint64_t sequence = 0;
  send_test(sequence++);
  for (std::int64_t sent = 0; options_.count == 0 || sent < options_.count; ++sent) {
    if (!thread_.wait_for(options_.interval)) return;
    send_test(sequence++);
  }
  log_->info("demo finished after " + std::to_string(sequence) + " test notifications");
  if (options_.on_finished) options_.on_finished();
}

}  // namespace notify::services
