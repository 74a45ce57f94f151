#include "cms_builder.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <array>
#include <initializer_list>
#include <memory>
#include <stdexcept>

namespace notify::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

using Bytes = std::vector<std::byte>;

// The fixed pieces of KMS's answer, byte for byte as in ../shared/testdata/kms-recipient (README, "ASN.1 shape").
constexpr std::array<unsigned char, 11> kOidEnvelopedData = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                                             0xf7, 0x0d, 0x01, 0x07, 0x03};
constexpr std::array<unsigned char, 11> kOidData = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
// keyEncryptionAlgorithm: id-RSAES-OAEP with hashFunc sha256 and maskGenFunc mgf1(sha256), explicit NULL params.
constexpr std::array<unsigned char, 62> kOaepAlgorithm = {
    0x30, 0x3c, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07, 0x30, 0x2f, 0xa0,
    0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
    0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00};
constexpr std::array<unsigned char, 11> kOidAes256Cbc = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                         0x65, 0x03, 0x04, 0x01, 0x2a};
constexpr std::size_t kCekBytes = 32;
constexpr std::size_t kIvBytes = 16;

void put(Bytes& out, std::initializer_list<unsigned char> bytes) {
  for (auto b : bytes) out.push_back(static_cast<std::byte>(b));
}
template <class Range>
void put_range(Bytes& out, const Range& bytes) {
  for (auto b : bytes) out.push_back(static_cast<std::byte>(b));
}

// DER definite length (short form below 128, else the shortest long form): what KMS uses for the definite levels.
void put_length(Bytes& out, std::size_t n) {
  if (n < 0x80) {
    out.push_back(static_cast<std::byte>(n));
    return;
  }
  unsigned char digits[sizeof(std::size_t)];
  std::size_t count = 0;
  for (std::size_t v = n; v != 0; v >>= 8) digits[count++] = static_cast<unsigned char>(v & 0xff);
  out.push_back(static_cast<std::byte>(0x80 | count));
  while (count > 0) out.push_back(static_cast<std::byte>(digits[--count]));
}

Bytes tlv(unsigned char tag, const Bytes& content) {
  Bytes out;
  out.push_back(static_cast<std::byte>(tag));
  put_length(out, content.size());
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

void fail(const char* what) { throw std::runtime_error(std::string("cms_builder: ") + what); }

}  // namespace

std::vector<std::byte> build_ciphertext_for_recipient(std::span<const std::byte> recipient_spki_der,
                                                      std::span<const std::byte> plaintext) {
  const auto* p = reinterpret_cast<const unsigned char*>(recipient_spki_der.data());
  PkeyPtr pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(recipient_spki_der.size())));
  if (!pub || EVP_PKEY_get_base_id(pub.get()) != EVP_PKEY_RSA) fail("the recipient key is not an RSA SPKI");

  // rid: SHA-256 of the DER SubjectPublicKeyInfo, re-encoded so it is canonical whatever the caller passed.
  unsigned char* der = nullptr;
  const int der_len = i2d_PUBKEY(pub.get(), &der);
  if (der_len <= 0) fail("cannot encode the SPKI");
  std::array<unsigned char, SHA256_DIGEST_LENGTH> rid{};
  SHA256(der, static_cast<std::size_t>(der_len), rid.data());
  OPENSSL_free(der);

  std::array<unsigned char, kCekBytes> cek{};
  std::array<unsigned char, kIvBytes> iv{};
  if (RAND_bytes(cek.data(), cek.size()) != 1 || RAND_bytes(iv.data(), iv.size()) != 1) fail("no randomness");
  struct Wipe {
    std::array<unsigned char, kCekBytes>& key;
    ~Wipe() { OPENSSL_cleanse(key.data(), key.size()); }
  } wipe{cek};

  PkeyCtxPtr pctx(EVP_PKEY_CTX_new(pub.get(), nullptr));
  std::size_t wrapped_len = 0;
  if (!pctx || EVP_PKEY_encrypt_init(pctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(pctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_encrypt(pctx.get(), nullptr, &wrapped_len, cek.data(), cek.size()) <= 0) {
    fail("RSA-OAEP setup failed");
  }
  std::vector<unsigned char> wrapped(wrapped_len);
  if (EVP_PKEY_encrypt(pctx.get(), wrapped.data(), &wrapped_len, cek.data(), cek.size()) <= 0) {
    fail("RSA-OAEP failed");
  }
  wrapped.resize(wrapped_len);

  CipherCtxPtr c(EVP_CIPHER_CTX_new());
  std::vector<unsigned char> ct(plaintext.size() + kIvBytes);
  int n = 0;
  int m = 0;
  if (!c || EVP_EncryptInit_ex(c.get(), EVP_aes_256_cbc(), nullptr, cek.data(), iv.data()) != 1 ||
      EVP_EncryptUpdate(c.get(), ct.data(), &n, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(c.get(), ct.data() + n, &m) != 1) {
    fail("AES-256-CBC failed");
  }
  ct.resize(static_cast<std::size_t>(n + m));

  // KeyTransRecipientInfo (definite): version 2, rid [0] IMPLICIT, OAEP AlgorithmIdentifier, encryptedKey.
  Bytes ktri;
  put(ktri, {0x02, 0x01, 0x02});
  put(ktri, {0x80, 0x20});
  put_range(ktri, rid);
  put_range(ktri, kOaepAlgorithm);
  const auto encrypted_key = tlv(0x04, Bytes(reinterpret_cast<const std::byte*>(wrapped.data()),
                                             reinterpret_cast<const std::byte*>(wrapped.data()) + wrapped.size()));
  ktri.insert(ktri.end(), encrypted_key.begin(), encrypted_key.end());
  const auto recipient_infos = tlv(0x31, tlv(0x30, ktri));

  Bytes iv_alg;
  put_range(iv_alg, kOidAes256Cbc);
  put(iv_alg, {0x04, static_cast<unsigned char>(kIvBytes)});
  put_range(iv_alg, iv);

  Bytes out;
  put(out, {0x30, 0x80});  // ContentInfo, indefinite
  put_range(out, kOidEnvelopedData);
  put(out, {0xa0, 0x80});        // [0] EXPLICIT, indefinite
  put(out, {0x30, 0x80});        // EnvelopedData, indefinite
  put(out, {0x02, 0x01, 0x02});  // version 2
  out.insert(out.end(), recipient_infos.begin(), recipient_infos.end());
  put(out, {0x30, 0x80});  // EncryptedContentInfo, indefinite
  put_range(out, kOidData);
  const auto algorithm = tlv(0x30, iv_alg);
  out.insert(out.end(), algorithm.begin(), algorithm.end());
  put(out, {0xa0, 0x80});  // encryptedContent [0] constructed, indefinite, one OCTET STRING chunk
  const auto chunk = tlv(0x04, Bytes(reinterpret_cast<const std::byte*>(ct.data()),
                                     reinterpret_cast<const std::byte*>(ct.data()) + ct.size()));
  out.insert(out.end(), chunk.begin(), chunk.end());
  for (int i = 0; i < 5; ++i) put(out, {0x00, 0x00});  // closes encryptedContent .. ContentInfo
  return out;
}

}  // namespace notify::testing
