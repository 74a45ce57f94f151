#include "enclave/identity_backend.hpp"

#include <openssl/rand.h>

namespace notify::enclave {

IdentityBackend::IdentityBackend(std::unique_ptr<attestation::EnclaveIdentity> id,
                                 std::vector<attestation::Provisioner> provisioners, Log& log)
    : id_(std::move(id)), sealed_(*id_, std::move(provisioners), log) {}

Result<std::vector<std::byte>> IdentityBackend::recipient_document() {
  // KMS needs no nonce; a fresh one still makes every document distinct.
  std::vector<std::byte> nonce(16);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) != 1) {
    return Error{Errc::internal, "no randomness for the attestation nonce"};
  }
  return id_->attest(nonce);
}

Result<Secret> IdentityBackend::open_for_recipient(std::span<const std::byte> blob) {
  return id_->open_kms_recipient(blob);
}

Result<link::AttestReply> IdentityBackend::attest(const link::AttestRequest& request) {
  auto doc = request.purpose == link::AttestPurpose::provisioning ? sealed_.attest_for_provisioning()
                                                                  : sealed_.attest_for_verification(request.nonce);
  if (!doc) return doc.error();
  return link::AttestReply{std::move(doc.value()), id_->development()};
}

Result<Secret> IdentityBackend::open_sealed(const std::string& secret_name, std::span<const std::byte> blob) {
  return sealed_.open(secret_name, blob);
}

}  // namespace notify::enclave
