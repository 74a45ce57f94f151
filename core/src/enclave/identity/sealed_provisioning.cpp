#include "enclave/identity/sealed_provisioning.hpp"

namespace notify::attestation {

SealedProvisioning::SealedProvisioning(EnclaveIdentity& identity, std::vector<Provisioner> provisioners, Log& log,
                                       ProvisioningNonces::Options nonces)
    : identity_(identity), provisioners_(std::move(provisioners)), log_(log), nonces_(std::move(nonces)) {}

Result<Bytes> SealedProvisioning::attest_for_verification(std::span<const std::byte> nonce) {
  if (nonce.size() > kMaxVerifierNonceBytes) {
    return Error{Errc::invalid_argument, "attest: a nonce of " + std::to_string(nonce.size()) + " bytes; at most " +
                                             std::to_string(kMaxVerifierNonceBytes)};
  }
  return identity_.attest(nonce);
}

Result<Bytes> SealedProvisioning::attest_for_provisioning() {
  auto nonce = nonces_.issue();
  if (!nonce) return nonce.error();
  auto doc = identity_.attest(*nonce);
  if (!doc) nonces_.withdraw(*nonce);
  return doc;
}

Result<Secret> SealedProvisioning::open(std::string_view secret_name, std::span<const std::byte> blob) {
  OpenPolicy policy;
  policy.expected_name = std::string(secret_name);
  policy.provisioners = provisioners_;
  policy.consume_nonce = [this](std::span<const std::byte> nonce) { return nonces_.consume(nonce); };
  auto opened = identity_.open_sealed(blob, policy);
  if (!opened) return opened.error();
  const auto& h = opened->header;
  if (!opened->signer.empty()) {
    log_.info("sealed blob for '" + h.name + "' is signed by provisioner '" + opened->signer + "'");
  } else if (h.algorithm != SignatureAlgorithm::none) {
    log_.info("sealed blob for '" + h.name + "' is signed by key id " + to_hex(h.signer_key_id) +
              ", not checked: secrets.provisioners is empty");
  }
  return std::move(opened->value);
}

}  // namespace notify::attestation
