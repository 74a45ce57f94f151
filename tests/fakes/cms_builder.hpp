#pragma once
// Builds a CiphertextForRecipient exactly as AWS KMS encodes it (see ../shared/testdata/kms-recipient/README.md,
// "ASN.1 shape"): ContentInfo / [0] / EnvelopedData / EncryptedContentInfo with indefinite lengths, one
// KeyTransRecipientInfo (version 2, rid = [0] SHA-256 of the recipient's DER SubjectPublicKeyInfo), RSAES-OAEP with
// explicit SHA-256 / MGF1-SHA-256 parameters, AES-256-CBC with a 16-byte IV and PKCS#7 padding, and
// encryptedContent as a constructed [0] holding one OCTET STRING chunk. Used by the fake KMS.

#include <cstddef>
#include <span>
#include <vector>

namespace notify::testing {

/// Encrypts `plaintext` to the RSA key given as DER SubjectPublicKeyInfo with a fresh CEK and IV.
/// Throws std::runtime_error if the key is not RSA or OpenSSL fails (test code).
std::vector<std::byte> build_ciphertext_for_recipient(std::span<const std::byte> recipient_spki_der,
                                                      std::span<const std::byte> plaintext);

}  // namespace notify::testing
