#pragma once
// Operator keys for sealed provisioning. An operator may sign the blobs it seals (notify-ctl seal --sign-key); an
// enclave whose config lists secrets.provisioners accepts only blobs signed by one of those keys, so a parent that
// seals a value of its own to the enclave's attested key is refused. Keys are ECDSA P-256 (signing SHA-256) or
// Ed25519, and are named in a blob by their key id: the SHA-256 of the DER SubjectPublicKeyInfo.

#include "attestation/attestation_document.hpp"

#include <notify/config_view.hpp>
#include <notify/result.hpp>

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace notify::attestation {

enum class SignatureAlgorithm : std::uint8_t { none = 0, ecdsa_p256_sha256 = 1, ed25519 = 2 };
const char* signature_algorithm_name(SignatureAlgorithm algorithm) noexcept;

struct PkeyFree {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

inline constexpr std::size_t kKeyIdBytes = 32;

/// The algorithm `key` signs blobs with; an error naming what the key is otherwise (RSA, P-384, ...).
Result<SignatureAlgorithm> signing_algorithm_of(EVP_PKEY* key);
/// SHA-256 of the key's DER SubjectPublicKeyInfo (of its public half, for a private key).
Result<Bytes> key_id_of(EVP_PKEY* key);

/// One entry of secrets.provisioners: an operator's public key.
struct Provisioner {
  std::string name;
  std::shared_ptr<EVP_PKEY> key;  // shared: a policy holding the list can be copied
  SignatureAlgorithm algorithm = SignatureAlgorithm::none;
  Bytes key_id;
};

/// A provisioner from a PEM public key ("-----BEGIN PUBLIC KEY-----"). Refuses other key types and curves.
Result<Provisioner> provisioner_from_pem(std::string name, std::string_view pem);

/// secrets.provisioners from the host config (each entry: name and public_key or public_key_file). Errors are
/// config errors: "file:line:col: secrets.provisioners[0].public_key: ...". Refuses duplicate names and keys.
Result<std::vector<Provisioner>> provisioners_from_config(const ConfigView& secrets_section);

/// An operator's private signing key from an unencrypted PEM (PKCS#8 or SEC1), for notify-ctl seal --sign-key.
Result<PkeyPtr> signing_key_from_pem(std::string_view pem);

/// "ops-1, ops-2": the provisioners' names, for messages.
std::string provisioner_names(std::span<const Provisioner> provisioners);

}  // namespace notify::attestation
