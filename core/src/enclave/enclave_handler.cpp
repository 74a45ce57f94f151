#include "enclave/enclave_handler.hpp"

#include <algorithm>
#include <map>

namespace notify::services {
namespace {
// Sealed envelopes cap their plaintext at 64 KiB; a plaintext (dev) secret gets the same bound (plus envelope room).
constexpr std::size_t kMaxProvisionedSecretBytes = 72 * 1024;
}  // namespace

EnclaveHandler::EnclaveHandler(plugin::PluginSet& plugins, secrets::MemorySecretStore& secrets,
                               EnclaveHandlerOptions options, std::unique_ptr<AttestationBackend> attestation,
                               std::unique_ptr<DeliveryMemory> memory, Log& log)
    : plugins_(plugins),
      secrets_(secrets),
      options_(std::move(options)),
      attestation_(std::move(attestation)),
      memory_(std::move(memory)),
      log_(log) {}

link::HealthInfo EnclaveHandler::health() {
  link::HealthInfo info;
  info.node = options_.node;
  info.initialized = !plugins_.providers().empty();
  for (const auto& p : plugins_.providers()) {
    auto h = p.provider->health();
    info.initialized = info.initialized && h.ready;
    info.providers.push_back({p.name, h.ready, h.detail});
  }
  // Every secret the enclave's config names — KMS sources first (with their fetch state), then each provider's
  // secret fields — as installed (and from where) or missing. Never a value.
  if (kms_) info.secrets = kms_->status();
  const auto installed = secrets_.list();
  for (const auto& p : plugins_.providers()) {
    for (const auto& name : p.secret_names) {
      const bool listed =
          std::any_of(info.secrets.begin(), info.secrets.end(), [&](const auto& s) { return s.name == name; });
      if (listed) continue;
      link::SecretStatus st;
      st.name = name;
      const auto it = std::find_if(installed.begin(), installed.end(), [&](const auto& i) { return i.name == name; });
      st.state = it != installed.end() ? link::SecretState::installed : link::SecretState::missing;
      if (it != installed.end()) st.origin = secret_origin_name(it->origin);
      info.secrets.push_back(std::move(st));
    }
  }
  return info;
}

Result<link::KmsProvisionReply> EnclaveHandler::kms_provision(const link::KmsProvisionRequest& request) {
  if (!kms_)
    return Error{Errc::unsupported, options_.node + " fetches no secrets from KMS (no secrets.kms in its config)"};
  return kms_->provision(request);
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
  // Only names the enclave's own config declares can be installed over the link — so a parent can neither fill the
  // store with names of its choosing nor replace what the enclave fetches from KMS itself.
  if (kms_ && kms_->is_source(request.secret_name)) {
    log_.warning("refused provisioning of '" + request.secret_name + "': the enclave fetches it from KMS itself");
    return Error{Errc::refused, "'" + request.secret_name + "' is fetched from KMS by " + options_.node +
                                    " (secrets.sources); it cannot be provisioned over the link"};
  }
  std::string declared;
  bool is_declared = false;
  for (const auto& p : plugins_.providers()) {
    for (const auto& name : p.secret_names) {
      is_declared = is_declared || name == request.secret_name;
      if (!kms_ || !kms_->is_source(name)) declared += (declared.empty() ? "" : ", ") + name;
    }
  }
  if (!is_declared) {
    log_.warning("refused provisioning of an undeclared secret name (" + std::to_string(request.secret_name.size()) +
                 " bytes)");
    return Error{Errc::refused, "'" + request.secret_name.substr(0, 64) + "' is not a secret " + options_.node +
                                    "'s providers declare (" + (declared.empty() ? "none" : declared) + ")"};
  }
  if (request.payload.size() > kMaxProvisionedSecretBytes) {
    return Error{Errc::resource_exhausted, "provision: a secret of " + std::to_string(request.payload.size()) +
                                               " bytes is over the " + std::to_string(kMaxProvisionedSecretBytes) +
                                               "-byte limit"};
  }
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
      log_.warning(
          "INSECURE: secret '" + request.secret_name + "' (" + std::to_string(bytes.size()) +
          " bytes) was received in plaintext from the parent; dev only, use sealed provisioning in production");
    }
    return st;
  }
  if (!attestation_) {
    return Error{Errc::unsupported,
                 "sealed provisioning needs serve.attestation: nsm or development on " + options_.node};
  }
  auto opened = attestation_->open_sealed(request.secret_name, request.payload);
  if (!opened) {
    log_.warning("sealed secret '" + request.secret_name + "' rejected: " + opened.error().message);
    return opened.error();
  }
  const auto size = opened->size();
  auto st = secrets_.put(request.secret_name, std::move(opened.value()), SecretOrigin::sealed);
  if (st)
    log_.info("secret '" + request.secret_name + "' installed from a sealed blob (" + std::to_string(size) + " bytes)");
  return st;
}

Result<link::AttestReply> EnclaveHandler::attest(const link::AttestRequest& request) {
  if (!attestation_)
    return Error{Errc::unsupported, "attestation is disabled on " + options_.node + " (serve.attestation: none)"};
  return attestation_->attest(request);
}

}  // namespace notify::services
