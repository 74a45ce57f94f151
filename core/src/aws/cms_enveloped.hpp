#pragma once
// KMS's CiphertextForRecipient: a CMS ContentInfo holding EnvelopedData (RFC 5652) in the BER that KMS really sends
// (indefinite lengths on the outer levels, encryptedContent as a constructed or a primitive [0]), with one
// KeyTransRecipientInfo (version 2, rid = [0] subjectKeyIdentifier = SHA-256 of the recipient's DER
// SubjectPublicKeyInfo), RSAES-OAEP with SHA-256 and MGF1-SHA-256, and AES-256-CBC content with PKCS#7 padding.
//
// The parser is our own and bounded: it reads only the structure above, checks every length against the bytes
// present before using it, caps nesting and total size, and refuses anything else with a message naming the field.
// Tested against the real KMS vectors in ../shared/testdata/kms-recipient (tests/aws/cms_test.cpp).

#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <openssl/evp.h>

#include <cstddef>
#include <span>
#include <vector>

namespace notify::aws {

inline constexpr std::size_t kMaxCiphertextForRecipientBytes = 64 * 1024;

struct EnvelopedParts {
  std::vector<std::byte> recipient_key_id;  ///< rid: 32 bytes, SHA-256(recipient SPKI DER)
  std::vector<std::byte> encrypted_key;     ///< RSAES-OAEP output
  std::vector<std::byte> iv;                ///< 16 bytes
  std::vector<std::byte> ciphertext;        ///< AES-256-CBC, concatenated from every chunk
};

/// Parses (does not decrypt). Errors: Errc::protocol_error "cms: <field>: <what>".
Result<EnvelopedParts> parse_ciphertext_for_recipient(std::span<const std::byte> ber);

/// SHA-256 of the key's DER SubjectPublicKeyInfo: the rid KMS puts in its answer.
std::vector<std::byte> subject_key_identifier(EVP_PKEY* key);

/// Parses, checks that the rid names `private_key`'s public half (before spending an RSA decryption), unwraps the
/// content-encryption key with RSA-OAEP-SHA256 and decrypts the content. The plaintext is returned as a Secret;
/// intermediate key material is wiped. Errors never contain key material.
Result<Secret> open_ciphertext_for_recipient(std::span<const std::byte> ber, EVP_PKEY* private_key);

}  // namespace notify::aws
