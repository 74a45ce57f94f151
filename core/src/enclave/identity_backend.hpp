#pragma once
// serve.attestation nsm or development: the enclave's identity behind the link handler and the KMS loader. It answers
// `attest` (a verifier's document, or a provisioning one with a fresh single-use nonce), opens sealed secrets, and is
// the Recipient of the enclave's own KMS calls.

#include "attestation/provisioners.hpp"
#include "enclave/enclave_handler.hpp"
#include "enclave/identity/enclave_identity.hpp"
#include "enclave/identity/sealed_provisioning.hpp"
#include "enclave/kms_secret_loader.hpp"

#include <notify/log.hpp>

#include <memory>
#include <vector>

namespace notify::enclave {

class IdentityBackend final : public services::AttestationBackend, public RecipientIdentity {
 public:
  IdentityBackend(std::unique_ptr<attestation::EnclaveIdentity> id, std::vector<attestation::Provisioner> provisioners,
                  Log& log);

  Result<std::vector<std::byte>> recipient_document() override;
  Result<Secret> open_for_recipient(std::span<const std::byte> blob) override;
  Result<link::AttestReply> attest(const link::AttestRequest& request) override;
  Result<Secret> open_sealed(const std::string& secret_name, std::span<const std::byte> blob) override;

 private:
  std::unique_ptr<attestation::EnclaveIdentity> id_;
  attestation::SealedProvisioning sealed_;  // after id_: it uses the identity
};

}  // namespace notify::enclave
