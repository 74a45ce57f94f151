#pragma once
// Sealing a secret to an enclave's attested RSA key, so only that enclave can open it, bound to the secret's name and
// to the single-use provisioning nonce of the attestation document it was sealed to, and optionally signed by an
// operator key (see provisioners.hpp).
//
// Envelope "ENS2" (integers big-endian; every length is checked against the bytes present before use, the whole
// envelope is bounded by kMaxEnvelopeBytes, and nothing may follow the last field):
//   "ENS2"                 4    magic and version
//   name length            1    1..255
//   name                        the secret's name, printable ASCII, e.g. braze.api_key
//   nonce length           1    1..64
//   nonce                       the enclave's provisioning nonce, from the attestation document
//     (these four fields, as bytes, are the AES-GCM additional data: the name and nonce cannot be changed)
//   wrapped key length     2    1..1024
//   wrapped key                 RSA-OAEP (SHA-256, MGF1-SHA-256) of a fresh AES-256 key, to the attested public key
//   IV                     12
//   ciphertext length      4    0..65536 (an empty value is refused once authenticated)
//   ciphertext                  AES-256-GCM of the value
//   tag                    16
//   signature algorithm    1    0 none, 1 ECDSA P-256 SHA-256, 2 Ed25519
//   when signed:
//     signer key id        32   SHA-256 of the signer's DER SubjectPublicKeyInfo
//     signature length     2    1..256
//     signature                 over every byte before the signature length (so the algorithm and key id too)
// Any change anywhere makes opening fail; no partial plaintext is ever returned. ENS1 envelopes (no name, no nonce,
// no signature) are refused.

#include "attestation/attestation_document.hpp"
#include "attestation/provisioners.hpp"

#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <openssl/evp.h>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace notify::attestation {

inline constexpr std::size_t kMaxSealedValueBytes = 64 * 1024;
inline constexpr std::size_t kMaxSealedNameBytes = 255;
inline constexpr std::size_t kMaxSealedNonceBytes = 64;
inline constexpr std::size_t kMaxEnvelopeBytes = 72 * 1024;

/// What an envelope says about itself, readable without any key (nothing here is verified yet).
struct SealedHeader {
  std::string name;
  Bytes nonce;
  SignatureAlgorithm algorithm = SignatureAlgorithm::none;
  Bytes signer_key_id;  ///< empty when unsigned
};

/// Encrypts `value` (1..65536 bytes) for secret `name` to the RSA public key given as DER SubjectPublicKeyInfo, bound
/// to `nonce`; signs the envelope with `signer` (ECDSA P-256 or Ed25519 private key) when given.
Result<Bytes> seal_secret(std::string_view value, std::string_view name, std::span<const std::byte> nonce,
                          std::span<const std::byte> recipient_spki_der, EVP_PKEY* signer = nullptr);

/// Parses an envelope's structure and returns its header; neither decrypts nor verifies.
Result<SealedHeader> inspect_sealed_secret(std::span<const std::byte> envelope);

/// What the opener requires of an envelope.
struct OpenPolicy {
  std::string expected_name;                  ///< the blob must be sealed for this secret name
  std::span<const Provisioner> provisioners;  ///< non-empty: a valid signature by one of them is required
  /// Called last, once the envelope has passed every other check: retires the nonce, or refuses it (unknown, used,
  /// expired). Required.
  std::function<Status(std::span<const std::byte> nonce)> consume_nonce;
};

struct OpenedSecret {
  Secret value;
  SealedHeader header;
  std::string signer;  ///< the provisioner whose signature was verified; empty when none was checked
};

/// Opens an envelope with the matching private key. Checks, in order: structure, name, signature policy, RSA-OAEP
/// unwrap, AES-GCM authentication, a non-empty value, and finally the nonce. Every refusal is Errc::refused with a
/// message naming the reason ("sealed blob: ..."), never the value.
Result<OpenedSecret> open_sealed_secret(std::span<const std::byte> envelope, EVP_PKEY* private_key,
                                        const OpenPolicy& policy);

}  // namespace notify::attestation
