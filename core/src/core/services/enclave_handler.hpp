#pragma once
// What the enclave does with link requests: route deliveries to provider instances (remembering request_ids so a
// retried delivery is answered without a second push), report health, install provisioned secrets, attest.

#include "core/plugin/plugin_set.hpp"
#include "core/secrets/secret_store.hpp"
#include "link/link_server.hpp"

#include <notify/log.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace notify::services {

/// Produces attestation documents and opens sealed secrets; absent when serve.attestation is "none".
class AttestationBackend {
 public:
  virtual ~AttestationBackend() = default;
  virtual Result<link::AttestReply> attest(std::span<const std::byte> nonce) = 0;
  virtual Result<Secret> open_sealed(std::span<const std::byte> blob) = 0;
};

/// Remembers final results by request_id (delivered / rejected), so a retry after a lost acknowledgement is
/// answered from memory.
class DeliveryMemory {
 public:
  virtual ~DeliveryMemory() = default;
  virtual std::optional<DeliveryResult> find(const std::string& request_id) = 0;
  virtual void remember(const std::string& request_id, const DeliveryResult& result) = 0;
};

struct EnclaveHandlerOptions {
  std::string node;
  bool allow_plaintext_secrets = false;
};

class EnclaveHandler final : public link::RequestHandler {
 public:
  EnclaveHandler(plugin::PluginSet& plugins, secrets::MemorySecretStore& secrets, EnclaveHandlerOptions options,
                 std::unique_ptr<AttestationBackend> attestation, std::unique_ptr<DeliveryMemory> memory, Log& log);

  link::HealthInfo health() override;
  std::vector<DeliveryResult> deliver(std::vector<Notification> batch) override;
  Status provision(const link::ProvisionRequest& request) override;
  Result<link::AttestReply> attest(const link::AttestRequest& request) override;

 private:
  plugin::PluginSet& plugins_;
  secrets::MemorySecretStore& secrets_;
  EnclaveHandlerOptions options_;
  std::unique_ptr<AttestationBackend> attestation_;
  std::unique_ptr<DeliveryMemory> memory_;
  Log& log_;
};

}  // namespace notify::services
