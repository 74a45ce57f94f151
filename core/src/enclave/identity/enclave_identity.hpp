#pragma once
// The enclave's identity: an RSA-2048 key pair made at start (the private half never leaves this process's memory;
// RSA so the same key could serve as a KMS Recipient key), bound into attestation documents as their public_key, and
// used to open secrets sealed to it.

#include "attestation/attestation_document.hpp"
#include "attestation/sealing.hpp"
#include "enclave/identity/development_attester.hpp"
#include "enclave/identity/nsm_device.hpp"

#include <notify/log.hpp>
#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <span>

namespace notify::attestation {

enum class AttesterMode { nsm, development };

class EnclaveIdentity {
  struct Token {  // only create() can make one (explicit: not even `{}` from outside), yet make_unique works
    explicit Token() = default;
  };

 public:
  static Result<std::unique_ptr<EnclaveIdentity>> create(AttesterMode mode, Log& log);
  explicit EnclaveIdentity(Token) {}
  EnclaveIdentity(const EnclaveIdentity&) = delete;
  EnclaveIdentity& operator=(const EnclaveIdentity&) = delete;

  /// An attestation document binding this identity's public key and the caller's nonce.
  Result<Bytes> attest(std::span<const std::byte> nonce);
  /// Opens a secret sealed to this identity's public key, if it passes every check of `policy` (sealing.hpp).
  Result<OpenedSecret> open_sealed(std::span<const std::byte> envelope, const OpenPolicy& policy);
  /// Opens KMS's CiphertextForRecipient (CMS, RSAES-OAEP-SHA256 to this identity's key).
  Result<Secret> open_kms_recipient(std::span<const std::byte> ciphertext_for_recipient);
  [[nodiscard]] bool development() const noexcept { return development_ != nullptr; }
  [[nodiscard]] const Bytes& public_key_der() const noexcept { return public_der_; }

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
  };
  std::unique_ptr<EVP_PKEY, KeyFree> key_;  // the private half: in this process's memory only
  Bytes public_der_;
  std::unique_ptr<DevelopmentAttester> development_;
  std::optional<NsmDevice> nsm_;
};

}  // namespace notify::attestation
