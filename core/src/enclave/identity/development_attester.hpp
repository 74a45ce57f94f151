#pragma once
// The development attester: for hosts that are not Nitro enclaves (a laptop, CI). It produces documents of exactly
// the Nitro shape — COSE_Sign1, ES384, the same payload fields — signed by a key generated at start, under a
// self-signed root whose names say "DEVELOPMENT attester - not AWS Nitro". The verifier accepts them only when
// development documents are explicitly allowed, and reports them as development attestation.

#include "attestation/attestation_document.hpp"

#include <notify/result.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <span>

namespace notify::attestation {

class DevelopmentAttester {
  struct Token {  // only create() can make one (explicit: not even `{}` from outside), yet make_unique works
    explicit Token() = default;
  };

 public:
  static Result<std::unique_ptr<DevelopmentAttester>> create();
  explicit DevelopmentAttester(Token) {}
  DevelopmentAttester(const DevelopmentAttester&) = delete;
  DevelopmentAttester& operator=(const DevelopmentAttester&) = delete;

  Result<Bytes> attest(std::span<const std::byte> public_key, std::optional<std::span<const std::byte>> nonce);

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
  };
  std::unique_ptr<EVP_PKEY, KeyFree> leaf_key_;
  Bytes leaf_der_;
  Bytes root_der_;
};

}  // namespace notify::attestation
