#pragma once
// What the enclave does with link requests: route deliveries to provider instances (remembering request_ids so a
// retried delivery is answered without a second push), report health, install provisioned secrets, attest.

#include "enclave/dedup_cache.hpp"
#include "enclave/kms_secret_loader.hpp"
#include "enclave/log_ring.hpp"
#include "link/link_server.hpp"
#include "runtime/metrics/host_metrics.hpp"
#include "runtime/plugin/plugin_set.hpp"
#include "runtime/secret_store.hpp"

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
  /// A verifier's document (binding the caller's nonce), or a provisioning one (binding a fresh single-use nonce of
  /// the enclave's own).
  virtual Result<link::AttestReply> attest(const link::AttestRequest& request) = 0;
  /// Opens a blob sealed for `secret_name`: its name, its nonce and (with secrets.provisioners) its signature checked.
  virtual Result<Secret> open_sealed(const std::string& secret_name, std::span<const std::byte> blob) = 0;
};

/// The request_ids the enclave has delivered or is delivering (find-or-claim; see DedupCache): a retry after a lost
/// acknowledgement is answered from memory, and one that arrives while the first call is still at the provider waits
/// for that call's result, so the provider is called once per request_id while the enclave runs.
class DeliveryMemory {
 public:
  virtual ~DeliveryMemory() = default;
  virtual delivery::DedupCache::Claim claim(const std::string& request_id,
                                            std::chrono::steady_clock::time_point deadline) = 0;
  virtual void settle(const std::string& request_id, const DeliveryResult& result) = 0;
};

struct EnclaveHandlerOptions {
  std::string node;
  bool allow_plaintext_secrets = false;
};

class EnclaveHandler final : public link::RequestHandler {
 public:
  EnclaveHandler(plugin::PluginSet& plugins, secrets::MemorySecretStore& secrets, EnclaveHandlerOptions options,
                 std::unique_ptr<AttestationBackend> attestation, std::unique_ptr<DeliveryMemory> memory, Log& log,
                 metrics::HostMetrics& metrics);

  link::HealthInfo health() override;
  /// Each provider group goes through deliver_streaming(): results the provider reports early are remembered and
  /// sent to the parent (`parts`) as they come; what is known before any call goes first, in one part.
  std::vector<DeliveryResult> deliver(std::vector<Notification> batch, std::chrono::steady_clock::time_point deadline,
                                      const PartSink& parts) override;
  Status provision(const link::ProvisionRequest& request) override;
  Result<link::AttestReply> attest(const link::AttestRequest& request) override;
  Result<link::KmsProvisionReply> kms_provision(const link::KmsProvisionRequest& request) override;
  Result<link::LogsReply> logs(std::size_t max) override;
  /// The host's series (providers' calls, results, dedup hits, attestations) and each secret's state, as
  /// notify_enclave_secret_state{name,state}: 1 for its current state, 0 for the other two.
  Result<std::vector<prometheus::MetricFamily>> metrics() override;

  /// serve.logs: the ring the host's log lines also go to (set once, before the link serves).
  void set_log_ring(std::shared_ptr<enclave::LogRing> ring) { log_ring_ = std::move(ring); }

  /// secrets.kms: the enclave fetches its KMS-sourced secrets (set once, before the link serves).
  void set_kms_loader(std::unique_ptr<enclave::KmsSecretLoader> loader) { kms_ = std::move(loader); }
  /// The attestation backend, for the KMS loader's Recipient documents (nullptr with serve.attestation: none).
  [[nodiscard]] AttestationBackend* attestation() const noexcept { return attestation_.get(); }

 private:
  plugin::PluginSet& plugins_;
  secrets::MemorySecretStore& secrets_;
  EnclaveHandlerOptions options_;
  std::unique_ptr<AttestationBackend> attestation_;
  std::unique_ptr<DeliveryMemory> memory_;
  Log& log_;
  metrics::HostMetrics& metrics_;
  std::unique_ptr<enclave::KmsSecretLoader> kms_;  // after attestation_: it uses the identity behind it
  std::shared_ptr<enclave::LogRing> log_ring_;
};

}  // namespace notify::services
