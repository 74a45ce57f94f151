#pragma once
// Sealing a secret to an enclave's attested RSA key, so only that enclave can open it.
//
// Envelope (all integers big-endian):
//   "ENS1"                   4 bytes  magic and version
//   wrapped key length       2 bytes
//   wrapped key              RSA-OAEP (SHA-256, MGF1-SHA-256) encryption of a fresh AES-256 key
//   IV                       12 bytes
//   ciphertext length        4 bytes
//   ciphertext               AES-256-GCM of the secret, with the 4-byte magic as additional data
//   tag                      16 bytes
// Any change anywhere makes opening fail; no partial plaintext is ever returned.

#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <openssl/evp.h>

#include <cstddef>
#include <span>
#include <vector>

namespace notify::attestation {

/// Encrypts `secret` to the RSA public key given as DER SubjectPublicKeyInfo.
Result<std::vector<std::byte>> seal_secret(std::string_view secret, std::span<const std::byte> recipient_spki_der);

/// Opens a sealed envelope with the matching private key.
Result<Secret> open_sealed_secret(std::span<const std::byte> envelope, EVP_PKEY* private_key);

}  // namespace notify::attestation
