#include "attestation/provisioners.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace notify::attestation {
namespace {

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr memory_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(std::min<std::size_t>(text.size(), 1 << 20))));
}

// Never prompt on a terminal for a passphrase: an encrypted key is refused with a message instead.
int no_passphrase(char*, int, int, void*) { return 0; }

std::string key_kind(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "an RSA key";
    case EVP_PKEY_RSA_PSS:
      return "an RSA-PSS key";
    case EVP_PKEY_DSA:
      return "a DSA key";
    case EVP_PKEY_ED448:
      return "an Ed448 key";
    case EVP_PKEY_X25519:
      return "an X25519 key";
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) return "an EC key on an unnamed curve";
      return std::string("an EC key on ") + group;
    }
    default:
      return "a key of an unsupported type";
  }
}

}  // namespace

const char* signature_algorithm_name(SignatureAlgorithm algorithm) noexcept {
  switch (algorithm) {
    case SignatureAlgorithm::none:
      return "none";
    case SignatureAlgorithm::ecdsa_p256_sha256:
      return "ecdsa-p256-sha256";
    case SignatureAlgorithm::ed25519:
      return "ed25519";
  }
  return "unknown";
}

Result<SignatureAlgorithm> signing_algorithm_of(EVP_PKEY* key) {
  if (key == nullptr) return Error{Errc::invalid_argument, "no key"};
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) return SignatureAlgorithm::ed25519;
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 && std::string_view(group, len) == "prime256v1") {
      return SignatureAlgorithm::ecdsa_p256_sha256;
    }
  }
  return Error{Errc::invalid_argument, key_kind(key) + "; provisioner keys must be ECDSA P-256 or Ed25519"};
}

Result<Bytes> key_id_of(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = key == nullptr ? -1 : i2d_PUBKEY(key, &der);
  const std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(der, [](unsigned char* p) { OPENSSL_free(p); });
  if (len <= 0) return Error{Errc::internal, "cannot encode the key's SubjectPublicKeyInfo"};
  Bytes id(kKeyIdBytes);
  SHA256(der, static_cast<std::size_t>(len), reinterpret_cast<unsigned char*>(id.data()));
  return id;
}

Result<Provisioner> provisioner_from_pem(std::string name, std::string_view pem) {
  auto bio = memory_bio(pem);
  std::shared_ptr<EVP_PKEY> key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr) : nullptr,
                                EVP_PKEY_free);
  if (!key) {
    ERR_clear_error();
    return Error{Errc::invalid_argument, "not a PEM public key (-----BEGIN PUBLIC KEY-----)"};
  }
  auto algorithm = signing_algorithm_of(key.get());
  if (!algorithm) return algorithm.error();
  auto id = key_id_of(key.get());
  if (!id) return id.error();
  return Provisioner{std::move(name), std::move(key), *algorithm, std::move(*id)};
}

Result<std::vector<Provisioner>> provisioners_from_config(const ConfigView& secrets_section) {
  std::vector<Provisioner> out;
  const auto entries = secrets_section.get_object_list("provisioners");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = *entries[i];
    const std::string path = "secrets.provisioners[" + std::to_string(i) + "]";
    const std::string name = e.get_string("name").value_or("");
    if (name.empty())
      return Error{Errc::invalid_argument, e.location("name") + ": " + path + ".name: must not be empty"};
    const bool inline_key = e.has("public_key");
    const bool file_key = e.has("public_key_file");
    if (inline_key == file_key) {
      return Error{Errc::invalid_argument,
                   e.location("") + ": " + path + ": give exactly one of public_key and " + "public_key_file"};
    }
    const std::string key_field = inline_key ? "public_key" : "public_key_file";
    std::string pem;
    if (inline_key) {
      pem = e.get_string("public_key").value_or("");
    } else {
      const std::string file = e.get_string("public_key_file").value_or("");
      std::ifstream in(file, std::ios::binary);
      if (!in)
        return Error{Errc::invalid_argument,
                     e.location(key_field) + ": " + path + ".public_key_file: cannot read '" + file + "'"};
      pem.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto p = provisioner_from_pem(name, pem);
    if (!p)
      return Error{Errc::invalid_argument,
                   e.location(key_field) + ": " + path + "." + key_field + ": " + p.error().message};
    for (const auto& other : out) {
      if (other.name == name)
        return Error{Errc::invalid_argument,
                     e.location("name") + ": " + path + ".name: '" + name + "' is listed twice"};
      if (other.key_id == p->key_id) {
        return Error{Errc::invalid_argument,
                     e.location(key_field) + ": " + path + ": the same key as provisioner '" + other.name + "'"};
      }
    }
    out.push_back(std::move(*p));
  }
  return out;
}

Result<PkeyPtr> signing_key_from_pem(std::string_view pem) {
  auto bio = memory_bio(pem);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  if (!key) {
    ERR_clear_error();
    return Error{Errc::invalid_argument, "not an unencrypted PEM private key (PKCS#8 or SEC1)"};
  }
  auto algorithm = signing_algorithm_of(key.get());
  if (!algorithm) return algorithm.error();
  return key;
}

std::string provisioner_names(std::span<const Provisioner> provisioners) {
  std::string out;
  for (const auto& p : provisioners) out += (out.empty() ? "" : ", ") + p.name;
  return out;
}

}  // namespace notify::attestation
