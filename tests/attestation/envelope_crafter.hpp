#pragma once
// An ENS2 envelope built by the tests themselves, independently of seal_secret: it can hold what seal_secret refuses
// to make (an empty value, any magic), as a hostile parent would, and it checks the format as documented in
// sealing.hpp against the implementation. Unsigned only.

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace notify::testing {

struct CraftedEnvelope {
  std::string magic = "ENS2";
  std::string name;
  std::vector<std::byte> nonce;
  std::string value;  // may be empty
};

inline std::vector<std::byte> craft_envelope(const CraftedEnvelope& spec, std::span<const std::byte> recipient_spki) {
  struct PkeyFree {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
  };
  struct PctxFree {
    void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
  };
  struct CipherFree {
    void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
  };
  auto fail = [](const char* what) { return std::runtime_error(std::string("craft_envelope: ") + what); };

  std::vector<std::byte> out;
  auto put = [&](const void* data, std::size_t n) {
    const auto* b = static_cast<const std::byte*>(data);
    out.insert(out.end(), b, b + n);
  };
  auto put_uint = [&](std::size_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  };
  put(spec.magic.data(), spec.magic.size());
  put_uint(spec.name.size(), 1);
  put(spec.name.data(), spec.name.size());
  put_uint(spec.nonce.size(), 1);
  put(spec.nonce.data(), spec.nonce.size());
  const std::vector<std::byte> aad = out;

  unsigned char key[32];
  unsigned char iv[12];
  if (RAND_bytes(key, sizeof key) != 1 || RAND_bytes(iv, sizeof iv) != 1) throw fail("no randomness");
  const auto* p = reinterpret_cast<const unsigned char*>(recipient_spki.data());
  std::unique_ptr<EVP_PKEY, PkeyFree> pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(recipient_spki.size())));
  if (!pub) throw fail("not a public key");
  std::unique_ptr<EVP_PKEY_CTX, PctxFree> pctx(EVP_PKEY_CTX_new(pub.get(), nullptr));
  std::vector<unsigned char> wrapped(1024);
  std::size_t wrapped_len = wrapped.size();
  if (EVP_PKEY_encrypt_init(pctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(pctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(pctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_encrypt(pctx.get(), wrapped.data(), &wrapped_len, key, sizeof key) != 1) {
    throw fail("RSA-OAEP");
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> c(EVP_CIPHER_CTX_new());
  std::vector<unsigned char> ct(spec.value.size() + 16);
  unsigned char tag[16];
  int n = 0;
  int m = 0;
  if (EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, key, iv) != 1 ||
      EVP_EncryptUpdate(c.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(c.get(), ct.data(), &n, reinterpret_cast<const unsigned char*>(spec.value.data()),
                        static_cast<int>(spec.value.size())) != 1 ||
      EVP_EncryptFinal_ex(c.get(), ct.data() + n, &m) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) {
    throw fail("AES-256-GCM");
  }
  put_uint(wrapped_len, 2);
  put(wrapped.data(), wrapped_len);
  put(iv, sizeof iv);
  put_uint(static_cast<std::size_t>(n + m), 4);
  put(ct.data(), static_cast<std::size_t>(n + m));
  put(tag, sizeof tag);
  put_uint(0, 1);  // unsigned
  return out;
}

}  // namespace notify::testing
