#include "enclave/identity/enclave_identity.hpp"

#include "attestation/sealing.hpp"
#include "aws/cms_enveloped.hpp"

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>

namespace notify::attestation {

Result<std::unique_ptr<EnclaveIdentity>> EnclaveIdentity::create(AttesterMode mode, Log& log) {
  auto id = std::make_unique<EnclaveIdentity>(Token{});
  if (mode == AttesterMode::nsm) {
    auto dev = NsmDevice::open();
    if (!dev) return dev.error();
    id->nsm_.emplace(std::move(dev.value()));
  } else {
    auto dev = DevelopmentAttester::create();
    if (!dev) return dev.error();
    id->development_ = std::move(dev.value());
  }
  id->key_.reset(EVP_RSA_gen(2048));
  if (!id->key_) return Error{Errc::internal, "enclave identity: RSA-2048 key generation failed"};
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(id->key_.get(), &der);
  const std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(der, [](unsigned char* p) { OPENSSL_free(p); });
  if (len <= 0) return Error{Errc::internal, "enclave identity: cannot encode the public key"};
  id->public_der_.resize(static_cast<std::size_t>(len));
  std::memcpy(id->public_der_.data(), der, id->public_der_.size());
  if (id->development()) {
    log.warning("development attestation: documents are self-signed and NOT from AWS Nitro; never use in production");
  } else {
    log.info("attestation: Nitro Secure Module (/dev/nsm)");
  }
  return id;
}

Result<Bytes> EnclaveIdentity::attest(std::span<const std::byte> nonce) {
  if (development_) return development_->attest(public_der_, nonce);
  return nsm_->attest(public_der_, nonce);
}

Result<OpenedSecret> EnclaveIdentity::open_sealed(std::span<const std::byte> envelope, const OpenPolicy& policy) {
  return open_sealed_secret(envelope, key_.get(), policy);
}

Result<Secret> EnclaveIdentity::open_kms_recipient(std::span<const std::byte> ciphertext_for_recipient) {
  return aws::open_ciphertext_for_recipient(ciphertext_for_recipient, key_.get());
}

}  // namespace notify::attestation
