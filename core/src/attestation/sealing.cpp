#include "attestation/sealing.hpp"

#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>

namespace notify::attestation {
namespace {

constexpr char kMagic[4] = {'E', 'N', 'S', '1'};
constexpr std::size_t kIv = 12;
constexpr std::size_t kTag = 16;
constexpr std::size_t kKey = 32;
constexpr std::size_t kMaxSecret = 64 * 1024;

struct PkeyFree { void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); } };
struct CipherCtxFree { void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// Wipes a buffer of key material when it goes out of scope.
struct Wiped {
  std::vector<unsigned char> bytes;
  explicit Wiped(std::size_t n) : bytes(n) {}
  ~Wiped() { explicit_bzero(bytes.data(), bytes.size()); }
};

bool oaep(EVP_PKEY_CTX* ctx) {
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0;
}

Error broken(const std::string& why) { return Error{Errc::refused, "sealed secret: " + why}; }

}  // namespace

Result<std::vector<std::byte>> seal_secret(std::string_view secret, std::span<const std::byte> recipient_spki_der) {
  if (secret.empty() || secret.size() > kMaxSecret) return Error{Errc::invalid_argument, "seal: secret must be 1..65536 bytes"};
  const unsigned char* p = reinterpret_cast<const unsigned char*>(recipient_spki_der.data());
  PkeyPtr pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(recipient_spki_der.size())));
  if (!pub || EVP_PKEY_get_base_id(pub.get()) != EVP_PKEY_RSA) {
    return Error{Errc::invalid_argument, "seal: the attested public key is not an RSA SubjectPublicKeyInfo"};
  }
  Wiped key(kKey);
  std::vector<unsigned char> iv(kIv);
  if (RAND_bytes(key.bytes.data(), kKey) != 1 || RAND_bytes(iv.data(), kIv) != 1) {
    return Error{Errc::internal, "seal: no randomness"};
  }
  PkeyCtxPtr pctx(EVP_PKEY_CTX_new(pub.get(), nullptr));
  std::size_t wrapped_len = 0;
  if (!pctx || EVP_PKEY_encrypt_init(pctx.get()) <= 0 || !oaep(pctx.get()) ||
      EVP_PKEY_encrypt(pctx.get(), nullptr, &wrapped_len, key.bytes.data(), kKey) <= 0) {
    return Error{Errc::internal, "seal: RSA-OAEP setup failed"};
  }
  std::vector<unsigned char> wrapped(wrapped_len);
  if (EVP_PKEY_encrypt(pctx.get(), wrapped.data(), &wrapped_len, key.bytes.data(), kKey) <= 0) {
    return Error{Errc::internal, "seal: RSA-OAEP failed"};
  }
  wrapped.resize(wrapped_len);
  CipherCtxPtr c(EVP_CIPHER_CTX_new());
  std::vector<unsigned char> ct(secret.size());
  std::vector<unsigned char> tag(kTag);
  int n = 0;
  if (!c || EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, key.bytes.data(), iv.data()) != 1 ||
      EVP_EncryptUpdate(c.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(kMagic), 4) != 1 ||
      EVP_EncryptUpdate(c.get(), ct.data(), &n, reinterpret_cast<const unsigned char*>(secret.data()),
                        static_cast<int>(secret.size())) != 1 ||
      EVP_EncryptFinal_ex(c.get(), ct.data() + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, kTag, tag.data()) != 1) {
    return Error{Errc::internal, "seal: AES-256-GCM failed"};
  }
  std::vector<std::byte> out;
  auto put = [&](const void* data, std::size_t size) {
    const auto* b = static_cast<const std::byte*>(data);
    out.insert(out.end(), b, b + size);
  };
  auto put_be = [&](std::uint32_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  };
  put(kMagic, 4);
  put_be(static_cast<std::uint32_t>(wrapped.size()), 2);
  put(wrapped.data(), wrapped.size());
  put(iv.data(), iv.size());
  put_be(static_cast<std::uint32_t>(ct.size()), 4);
  put(ct.data(), ct.size());
  put(tag.data(), tag.size());
  return out;
}

Result<Secret> open_sealed_secret(std::span<const std::byte> env, EVP_PKEY* private_key) {
  std::size_t at = 0;
  auto take = [&](std::size_t n) -> std::span<const std::byte> {
    if (env.size() - at < n) return {};
    auto s = env.subspan(at, n);
    at += n;
    return s;
  };
  auto be = [](std::span<const std::byte> s) {
    std::uint32_t v = 0;
    for (auto b : s) v = (v << 8) | static_cast<std::uint8_t>(b);
    return v;
  };
  if (env.size() < 4 || std::memcmp(env.data(), kMagic, 4) != 0) return broken("not an ENS1 envelope");
  at = 4;
  auto wl = take(2);
  if (wl.empty()) return broken("truncated");
  auto wrapped = take(be(wl));
  auto iv = take(kIv);
  auto cl = take(4);
  if (wrapped.empty() || iv.empty() || cl.empty()) return broken("truncated");
  const auto ct_len = be(cl);
  if (ct_len > kMaxSecret) return broken("ciphertext too large");
  auto ct = take(ct_len);
  auto tag = take(kTag);
  if ((ct_len > 0 && ct.empty()) || tag.empty() || at != env.size()) return broken("truncated or trailing bytes");

  PkeyCtxPtr pctx(EVP_PKEY_CTX_new(private_key, nullptr));
  Wiped key(512);
  std::size_t key_len = key.bytes.size();
  if (!pctx || EVP_PKEY_decrypt_init(pctx.get()) <= 0 || !oaep(pctx.get()) ||
      EVP_PKEY_decrypt(pctx.get(), key.bytes.data(), &key_len, reinterpret_cast<const unsigned char*>(wrapped.data()),
                       wrapped.size()) <= 0 ||
      key_len != kKey) {
    return broken("the key was not sealed to this enclave (RSA-OAEP unwrap failed)");
  }
  CipherCtxPtr c(EVP_CIPHER_CTX_new());
  Wiped plain(ct_len + 1);
  int n = 0;
  int m = 0;
  std::vector<unsigned char> tag_copy(reinterpret_cast<const unsigned char*>(tag.data()),
                                      reinterpret_cast<const unsigned char*>(tag.data()) + kTag);
  if (!c || EVP_DecryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, key.bytes.data(),
                               reinterpret_cast<const unsigned char*>(iv.data())) != 1 ||
      EVP_DecryptUpdate(c.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(kMagic), 4) != 1 ||
      EVP_DecryptUpdate(c.get(), plain.bytes.data(), &n, reinterpret_cast<const unsigned char*>(ct.data()),
                        static_cast<int>(ct_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag_copy.data()) != 1 ||
      EVP_DecryptFinal_ex(c.get(), plain.bytes.data() + n, &m) != 1) {
    return broken("authentication failed (the envelope was altered)");
  }
  return Secret(std::string_view(reinterpret_cast<const char*>(plain.bytes.data()), static_cast<std::size_t>(n + m)));
}

}  // namespace notify::attestation
