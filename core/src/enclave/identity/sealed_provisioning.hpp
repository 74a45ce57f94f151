#pragma once
// The enclave's side of sealed provisioning, as the link's attest and provision requests reach it:
//   - a verifier's attestation binds the caller's nonce (bounded), as any verifier expects;
//   - a provisioning attestation binds a fresh single-use nonce of the enclave's own, whatever the caller sent;
//   - a blob opens only if it is sealed for the requested name, to an outstanding nonce (used up on success), and,
//     when secrets.provisioners is set, signed by one of those operators.
// The identity's private key never leaves EnclaveIdentity; this class adds the policy around it.

#include "attestation/provisioners.hpp"
#include "enclave/identity/enclave_identity.hpp"
#include "enclave/identity/provisioning_nonces.hpp"

#include <notify/log.hpp>
#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <span>
#include <string_view>
#include <vector>

namespace notify::attestation {

class SealedProvisioning {
 public:
  /// A verifier's nonce is at most this long (the NSM takes up to 512 bytes; nobody needs more than a hash).
  static constexpr std::size_t kMaxVerifierNonceBytes = 64;

  SealedProvisioning(EnclaveIdentity& identity, std::vector<Provisioner> provisioners, Log& log,
                     ProvisioningNonces::Options nonces = {});
  SealedProvisioning(const SealedProvisioning&) = delete;
  SealedProvisioning& operator=(const SealedProvisioning&) = delete;

  /// A document for a verifier, binding the caller's nonce (0..64 bytes).
  Result<Bytes> attest_for_verification(std::span<const std::byte> nonce);
  /// A document to seal a secret to: its nonce is a fresh single-use provisioning nonce.
  Result<Bytes> attest_for_provisioning();
  /// Opens a blob for `secret_name`: every check of open_sealed_secret; on success the blob's nonce is used up.
  Result<Secret> open(std::string_view secret_name, std::span<const std::byte> blob);

  [[nodiscard]] const std::vector<Provisioner>& provisioners() const noexcept { return provisioners_; }
  [[nodiscard]] std::size_t outstanding_nonces() { return nonces_.outstanding(); }

 private:
  EnclaveIdentity& identity_;
  std::vector<Provisioner> provisioners_;
  Log& log_;
  ProvisioningNonces nonces_;
};

}  // namespace notify::attestation
