#pragma once
// The enclave's side of the unattended KMS bootstrap. For each secret its (measured) config lists under
// secrets.sources, the enclave asks KMS itself — `Decrypt` with a Recipient that binds its own RSA key in a fresh
// attestation document — using the CiphertextBlob and the AWS credentials the parent hands over. KMS's key policy
// (kms:RecipientAttestation:PCR<n>) decides; the answer is a CMS envelope only this enclave can open.
//
// What the parent controls — the blob, the credentials, the bytes on the wire — cannot make the enclave install
// another value: the endpoint, CA, pinned key and encryption context come from the enclave's config, TLS ends here,
// and the answer must name the pinned key. A parent can only withhold (the secret then stays missing, and health
// says so).

#include "aws/kms_client.hpp"
#include "link/messages.hpp"
#include "runtime/secret_store.hpp"

#include <notify/log.hpp>
#include <notify/secret.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace notify::enclave {

struct KmsSecretSource {
  std::string name;                                       ///< secret store name, e.g. "braze.api_key"
  std::map<std::string, std::string> encryption_context;  ///< must match what the ciphertext was encrypted with
};

/// What the loader needs from the enclave's identity.
class RecipientIdentity {
 public:
  virtual ~RecipientIdentity() = default;
  /// A fresh attestation document whose public_key is the enclave's RSA key (the KMS Recipient).
  virtual Result<std::vector<std::byte>> recipient_document() = 0;
  /// Opens a CiphertextForRecipient with the private half of that key.
  virtual Result<Secret> open_for_recipient(std::span<const std::byte> ciphertext_for_recipient) = 0;
};

class KmsSecretLoader {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  /// Told of every Recipient attestation document made (true) or failed (false), for metrics.
  using AttestationCounter = std::function<void(bool ok)>;

  KmsSecretLoader(std::unique_ptr<aws::KmsClient> client, std::vector<KmsSecretSource> sources,
                  RecipientIdentity& identity, secrets::MemorySecretStore& store, Log& log,
                  Clock clock = std::chrono::system_clock::now, AttestationCounter attested = {});

  /// Fetches every listed secret; one outcome per ciphertext, in order. Calls are serialised: a second request
  /// waits for the first (a KMS call is bounded by the client's request timeout).
  link::KmsProvisionReply provision(const link::KmsProvisionRequest& request);

  /// One entry per configured source: installed (with its origin), missing, or failing with the last reason.
  [[nodiscard]] std::vector<link::SecretStatus> status() const;
  [[nodiscard]] bool is_source(std::string_view name) const;

 private:
  link::KmsProvisionOutcome fetch(const KmsSecretSource& source, std::span<const std::byte> blob,
                                  const aws::Credentials& credentials);
  void set_failure(const std::string& name, std::string detail);

  std::unique_ptr<aws::KmsClient> client_;
  std::vector<KmsSecretSource> sources_;
  RecipientIdentity& identity_;
  secrets::MemorySecretStore& store_;
  Log& log_;
  Clock clock_;
  AttestationCounter attested_;

  std::mutex call_mu_;  // one provisioning round at a time
  mutable std::mutex state_mu_;
  std::map<std::string, std::string, std::less<>> failures_;  // name → last reason (cleared when installed)
};

}  // namespace notify::enclave
