#include "core/services/enclave_handler.hpp"

#include <map>

namespace notify::services {

EnclaveHandler::EnclaveHandler(plugin::PluginSet& plugins, secrets::MemorySecretStore& secrets,
                               EnclaveHandlerOptions options, std::unique_ptr<AttestationBackend> attestation,
                               std::unique_ptr<DeliveryMemory> memory, Log& log)
    : plugins_(plugins), secrets_(secrets), options_(std::move(options)), attestation_(std::move(attestation)),
      memory_(std::move(memory)), log_(log) {}

link::HealthInfo EnclaveHandler::health() {
  link::HealthInfo info;
  info.node = options_.node;
  info.initialized = !plugins_.providers().empty();
  for (const auto& p : plugins_.providers()) {
    auto h = p.provider->health();
    info.initialized = info.initialized && h.ready;
    info.providers.push_back({p.name, h.ready, h.detail});
  }
  return info;
}

std::vector<DeliveryResult> EnclaveHandler::deliver(std::vector<Notification> batch) {
  std::vector<DeliveryResult> results(batch.size());
  // Group by provider instance, keeping each notification's index so results land in the caller's order.
  std::map<const plugin::ProviderInstance*, std::vector<std::size_t>> groups;
  std::size_t remembered = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (memory_) {
      if (auto known = memory_->find(batch[i].request_id)) {
        results[i] = *known;
        ++remembered;
        continue;
      }
    }
    const auto* p = plugins_.find_provider(batch[i].provider);
    if (p == nullptr) {
      results[i] = DeliveryResult::rejected(batch[i].provider.empty()
                                                ? "no default provider configured on " + options_.node
                                                : "no provider named '" + batch[i].provider + "' on " + options_.node);
      continue;
    }
    groups[p].push_back(i);
  }
  if (remembered > 0) {
    log_.info("answered " + std::to_string(remembered) + " already-delivered request_id(s) from memory (no resend)");
  }
  for (auto& [instance, indexes] : groups) {
    std::vector<Notification> part;
    part.reserve(indexes.size());
    for (auto i : indexes) part.push_back(std::move(batch[i]));
    auto got = instance->provider->deliver(part);
    for (std::size_t k = 0; k < indexes.size(); ++k) {
      DeliveryResult r = k < got.size() ? std::move(got[k])
                                        : DeliveryResult::retryable("provider '" + instance->name + "' returned " +
                                                                    std::to_string(got.size()) + " results for " +
                                                                    std::to_string(indexes.size()) + " notifications");
      if (memory_ && r.outcome != Outcome::retryable) memory_->remember(part[k].request_id, r);
      results[indexes[k]] = std::move(r);
    }
  }
  return results;
}

Status EnclaveHandler::provision(const link::ProvisionRequest& request) {
  if (request.secret_name.empty()) return Error{Errc::invalid_argument, "provision: empty secret name"};
  if (request.mode == link::ProvisionMode::plaintext_insecure) {
    if (!options_.allow_plaintext_secrets) {
      log_.warning("refused plaintext provisioning of secret '" + request.secret_name +
                   "': secrets.allow_plaintext is false (use sealed provisioning)");
      return Error{Errc::refused, "plaintext provisioning is disabled on " + options_.node +
                                      " (secrets.allow_plaintext: false); use notify-ctl provision (sealed)"};
    }
    std::string_view bytes(reinterpret_cast<const char*>(request.payload.data()), request.payload.size());
    auto st = secrets_.put(request.secret_name, Secret(bytes), SecretOrigin::insecure_link);
    if (st) {
      log_.warning("INSECURE: secret '" + request.secret_name + "' (" + std::to_string(bytes.size()) +
                   " bytes) was received in plaintext from the parent; dev only, use sealed provisioning in production");
    }
    return st;
  }
  if (!attestation_) {
    return Error{Errc::unsupported, "sealed provisioning needs serve.attestation: nsm or development on " + options_.node};
  }
  auto opened = attestation_->open_sealed(request.payload);
  if (!opened) {
    log_.warning("sealed secret '" + request.secret_name + "' rejected: " + opened.error().message);
    return opened.error();
  }
  const auto size = opened->size();
  auto st = secrets_.put(request.secret_name, std::move(opened.value()), SecretOrigin::sealed);
  if (st) log_.info("secret '" + request.secret_name + "' installed from a sealed blob (" + std::to_string(size) + " bytes)");
  return st;
}

Result<link::AttestReply> EnclaveHandler::attest(const link::AttestRequest& request) {
  if (!attestation_) return Error{Errc::unsupported, "attestation is disabled on " + options_.node + " (serve.attestation: none)"};
  return attestation_->attest(request.nonce);
}

}  // namespace notify::services
