#include "attestation/sealing.hpp"

#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

namespace notify::attestation {
namespace {

constexpr std::array<char, 4> kMagic = {'E', 'N', 'S', '2'};
constexpr std::array<char, 4> kOldMagic = {'E', 'N', 'S', '1'};
constexpr std::size_t kIv = 12;
constexpr std::size_t kTag = 16;
constexpr std::size_t kKey = 32;
constexpr std::size_t kMaxWrappedKey = 1024;  // RSA-8192
constexpr std::size_t kMaxSignature = 256;

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Wipes a buffer of key material or plaintext when it goes out of scope.
struct Wiped {
  std::vector<unsigned char> bytes;
  explicit Wiped(std::size_t n) : bytes(n) {}
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

const unsigned char* uc(std::span<const std::byte> s) { return reinterpret_cast<const unsigned char*>(s.data()); }

bool oaep(EVP_PKEY_CTX* ctx) {
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0;
}

Error refused(const std::string& why) { return Error{Errc::refused, "sealed blob: " + why}; }
Error bad_seal(const std::string& why) { return Error{Errc::invalid_argument, "seal: " + why}; }

// Names travel in clear and end up in logs: printable ASCII only, so a blob cannot inject control characters.
bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxSealedNameBytes &&
         std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// One envelope's fields, as views into it.
struct Parsed {
  std::span<const std::byte> additional_data;  // magic, name and nonce with their lengths
  std::string_view name;
  std::span<const std::byte> nonce;
  std::span<const std::byte> wrapped_key;
  std::span<const std::byte> iv;
  std::span<const std::byte> ciphertext;
  std::span<const std::byte> tag;
  SignatureAlgorithm algorithm = SignatureAlgorithm::none;
  std::span<const std::byte> signer_key_id;
  std::span<const std::byte> signed_part;  // every byte the signature covers
  std::span<const std::byte> signature;
};

class Reader {
 public:
  explicit Reader(std::span<const std::byte> data) : data_(data) {}
  bool take(std::size_t n, std::span<const std::byte>& out) {
    if (data_.size() - at_ < n) return false;
    out = data_.subspan(at_, n);
    at_ += n;
    return true;
  }
  bool uint(std::size_t bytes, std::uint32_t& out) {
    std::span<const std::byte> s;
    if (!take(bytes, s)) return false;
    out = 0;
    for (auto b : s) out = (out << 8) | static_cast<std::uint8_t>(b);
    return true;
  }
  [[nodiscard]] std::size_t at() const noexcept { return at_; }
  [[nodiscard]] std::size_t left() const noexcept { return data_.size() - at_; }

 private:
  std::span<const std::byte> data_;
  std::size_t at_ = 0;
};

Result<Parsed> parse(std::span<const std::byte> env) {
  if (env.size() > kMaxEnvelopeBytes) {
    return refused(std::to_string(env.size()) + " bytes; an envelope has at most " + std::to_string(kMaxEnvelopeBytes));
  }
  if (env.size() >= 4 && std::memcmp(env.data(), kOldMagic.data(), 4) == 0) {
    return refused(
        "ENS1 envelopes are no longer accepted (not bound to a secret name or a provisioning nonce); "
        "seal again with notify-ctl attest / seal");
  }
  if (env.size() < 4 || std::memcmp(env.data(), kMagic.data(), 4) != 0) return refused("not an ENS2 envelope");
  Parsed p;
  Reader r(env);
  std::span<const std::byte> field;
  std::uint32_t n = 0;
  auto truncated = [](const char* where) { return refused(std::string("truncated in the ") + where); };
  r.take(4, field);
  if (!r.uint(1, n)) return truncated("name length");
  if (n == 0) return refused("the secret name is empty");
  if (!r.take(n, field)) return truncated("name");
  p.name = std::string_view(reinterpret_cast<const char*>(field.data()), field.size());
  if (!valid_name(p.name)) return refused("the secret name is not printable ASCII");
  if (!r.uint(1, n)) return truncated("nonce length");
  if (n == 0) return refused("no provisioning nonce");
  if (n > kMaxSealedNonceBytes) {
    return refused("a nonce of " + std::to_string(n) + " bytes; at most " + std::to_string(kMaxSealedNonceBytes));
  }
  if (!r.take(n, p.nonce)) return truncated("nonce");
  p.additional_data = env.first(r.at());
  if (!r.uint(2, n)) return truncated("wrapped key length");
  if (n == 0 || n > kMaxWrappedKey) return refused("a wrapped key of " + std::to_string(n) + " bytes");
  if (!r.take(n, p.wrapped_key)) return truncated("wrapped key");
  if (!r.take(kIv, p.iv)) return truncated("IV");
  if (!r.uint(4, n)) return truncated("ciphertext length");
  if (n > kMaxSealedValueBytes) {
    return refused("a ciphertext of " + std::to_string(n) + " bytes; at most " + std::to_string(kMaxSealedValueBytes));
  }
  if (!r.take(n, p.ciphertext)) return truncated("ciphertext");
  if (!r.take(kTag, p.tag)) return truncated("tag");
  if (!r.uint(1, n)) return truncated("signature algorithm");
  if (n > static_cast<std::uint32_t>(SignatureAlgorithm::ed25519)) {
    return refused("unknown signature algorithm " + std::to_string(n));
  }
  p.algorithm = static_cast<SignatureAlgorithm>(n);
  if (p.algorithm != SignatureAlgorithm::none) {
    if (!r.take(kKeyIdBytes, p.signer_key_id)) return truncated("signer key id");
    p.signed_part = env.first(r.at());
    if (!r.uint(2, n)) return truncated("signature length");
    if (n == 0 || n > kMaxSignature) return refused("a signature of " + std::to_string(n) + " bytes");
    if (!r.take(n, p.signature)) return truncated("signature");
  }
  if (r.left() != 0) return refused(std::to_string(r.left()) + " trailing bytes after the envelope");
  return p;
}

Result<Bytes> sign(EVP_PKEY* key, SignatureAlgorithm algorithm, std::span<const std::byte> message) {
  MdCtxPtr md(EVP_MD_CTX_new());
  Bytes signature(kMaxSignature);
  std::size_t len = signature.size();
  const EVP_MD* digest = algorithm == SignatureAlgorithm::ecdsa_p256_sha256 ? EVP_sha256() : nullptr;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, digest, nullptr, key) != 1 ||
      EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, uc(message), message.size()) !=
          1 ||
      len == 0 || len > kMaxSignature) {
    return bad_seal(std::string("signing with the ") + signature_algorithm_name(algorithm) + " key failed");
  }
  signature.resize(len);
  return signature;
}

bool verify(EVP_PKEY* key, SignatureAlgorithm algorithm, std::span<const std::byte> message,
            std::span<const std::byte> signature) {
  MdCtxPtr md(EVP_MD_CTX_new());
  const EVP_MD* digest = algorithm == SignatureAlgorithm::ecdsa_p256_sha256 ? EVP_sha256() : nullptr;
  return md && EVP_DigestVerifyInit(md.get(), nullptr, digest, nullptr, key) == 1 &&
         EVP_DigestVerify(md.get(), uc(signature), signature.size(), uc(message), message.size()) == 1;
}

// Signature policy: with provisioners listed, a valid signature by one of them; without, whatever the blob carries is
// left unchecked (there is nothing to check it against). Returns the verified signer's name.
Result<std::string> check_signature(const Parsed& p, std::span<const Provisioner> provisioners) {
  if (provisioners.empty()) return std::string();
  const std::string names = provisioner_names(provisioners);
  if (p.algorithm == SignatureAlgorithm::none) {
    return refused("unsigned blob, but secrets.provisioners requires a signature by one of: " + names);
  }
  const auto it = std::find_if(provisioners.begin(), provisioners.end(), [&](const Provisioner& k) {
    return std::equal(k.key_id.begin(), k.key_id.end(), p.signer_key_id.begin(), p.signer_key_id.end());
  });
  if (it == provisioners.end()) {
    return refused("signed by an unknown key (key id " + to_hex(p.signer_key_id) +
                   "), not one of secrets.provisioners: " + names);
  }
  if (it->algorithm != p.algorithm) {
    return refused(std::string("the signature algorithm ") + signature_algorithm_name(p.algorithm) +
                   " does not match provisioner '" + it->name + "' (" + signature_algorithm_name(it->algorithm) + ")");
  }
  if (!verify(it->key.get(), p.algorithm, p.signed_part, p.signature)) {
    return refused("the signature by provisioner '" + it->name +
                   "' does not verify (the blob was altered, or not signed with that key)");
  }
  return it->name;
}

}  // namespace

Result<Bytes> seal_secret(std::string_view value, std::string_view name, std::span<const std::byte> nonce,
                          std::span<const std::byte> recipient_spki_der, EVP_PKEY* signer) {
  if (value.empty()) return bad_seal("the value is empty");
  if (value.size() > kMaxSealedValueBytes) {
    return bad_seal("the value is " + std::to_string(value.size()) + " bytes; at most " +
                    std::to_string(kMaxSealedValueBytes));
  }
  if (!valid_name(name)) return bad_seal("the secret name must be 1..255 printable ASCII characters");
  if (nonce.empty() || nonce.size() > kMaxSealedNonceBytes) {
    return bad_seal("the provisioning nonce must be 1.." + std::to_string(kMaxSealedNonceBytes) + " bytes (got " +
                    std::to_string(nonce.size()) + ")");
  }
  SignatureAlgorithm algorithm = SignatureAlgorithm::none;
  Bytes signer_id;
  if (signer != nullptr) {
    auto a = signing_algorithm_of(signer);
    if (!a) return bad_seal("signing key: " + a.error().message);
    auto id = key_id_of(signer);
    if (!id) return bad_seal("signing key: " + id.error().message);
    algorithm = *a;
    signer_id = std::move(*id);
  }
  const unsigned char* p = uc(recipient_spki_der);
  PkeyPtr pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(recipient_spki_der.size())));
  if (!pub || EVP_PKEY_get_base_id(pub.get()) != EVP_PKEY_RSA) {
    return bad_seal("the attested public key is not an RSA SubjectPublicKeyInfo");
  }

  Bytes out;
  auto put = [&](std::span<const std::byte> s) { out.insert(out.end(), s.begin(), s.end()); };
  auto put_uint = [&](std::uint32_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  };
  put(std::as_bytes(std::span(kMagic)));
  put_uint(static_cast<std::uint32_t>(name.size()), 1);
  put(std::as_bytes(std::span(name.data(), name.size())));
  put_uint(static_cast<std::uint32_t>(nonce.size()), 1);
  put(nonce);
  const Bytes additional_data = out;

  Wiped key(kKey);
  std::array<unsigned char, kIv> iv{};
  if (RAND_bytes(key.bytes.data(), kKey) != 1 || RAND_bytes(iv.data(), kIv) != 1) {
    return Error{Errc::internal, "seal: no randomness"};
  }
  PkeyCtxPtr pctx(EVP_PKEY_CTX_new(pub.get(), nullptr));
  std::size_t wrapped_len = 0;
  if (!pctx || EVP_PKEY_encrypt_init(pctx.get()) <= 0 || !oaep(pctx.get()) ||
      EVP_PKEY_encrypt(pctx.get(), nullptr, &wrapped_len, key.bytes.data(), kKey) <= 0 ||
      wrapped_len > kMaxWrappedKey) {
    return Error{Errc::internal, "seal: RSA-OAEP setup failed"};
  }
  Bytes wrapped(wrapped_len);
  if (EVP_PKEY_encrypt(pctx.get(), reinterpret_cast<unsigned char*>(wrapped.data()), &wrapped_len, key.bytes.data(),
                       kKey) <= 0) {
    return Error{Errc::internal, "seal: RSA-OAEP failed"};
  }
  wrapped.resize(wrapped_len);

  CipherCtxPtr c(EVP_CIPHER_CTX_new());
  Bytes ct(value.size());
  std::array<unsigned char, kTag> tag{};
  int n = 0;
  int m = 0;
  if (!c || EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, key.bytes.data(), iv.data()) != 1 ||
      EVP_EncryptUpdate(c.get(), nullptr, &n, uc(additional_data), static_cast<int>(additional_data.size())) != 1 ||
      EVP_EncryptUpdate(c.get(), reinterpret_cast<unsigned char*>(ct.data()), &n,
                        reinterpret_cast<const unsigned char*>(value.data()), static_cast<int>(value.size())) != 1 ||
      EVP_EncryptFinal_ex(c.get(), reinterpret_cast<unsigned char*>(ct.data()) + n, &m) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, kTag, tag.data()) != 1) {
    return Error{Errc::internal, "seal: AES-256-GCM failed"};
  }

  put_uint(static_cast<std::uint32_t>(wrapped.size()), 2);
  put(wrapped);
  put(std::as_bytes(std::span(iv)));
  put_uint(static_cast<std::uint32_t>(ct.size()), 4);
  put(ct);
  put(std::as_bytes(std::span(tag)));
  put_uint(static_cast<std::uint32_t>(algorithm), 1);
  if (signer != nullptr) {
    put(signer_id);
    auto signature = sign(signer, algorithm, out);
    if (!signature) return signature.error();
    put_uint(static_cast<std::uint32_t>(signature->size()), 2);
    put(*signature);
  }
  return out;
}

Result<SealedHeader> inspect_sealed_secret(std::span<const std::byte> envelope) {
  auto p = parse(envelope);
  if (!p) return p.error();
  return SealedHeader{std::string(p->name), Bytes(p->nonce.begin(), p->nonce.end()), p->algorithm,
                      Bytes(p->signer_key_id.begin(), p->signer_key_id.end())};
}

Result<OpenedSecret> open_sealed_secret(std::span<const std::byte> envelope, EVP_PKEY* private_key,
                                        const OpenPolicy& policy) {
  if (!policy.consume_nonce) return Error{Errc::internal, "sealed blob: no nonce store to check the nonce against"};
  auto parsed = parse(envelope);
  if (!parsed) return parsed.error();
  const Parsed& p = *parsed;
  if (p.name != policy.expected_name) {
    return refused("sealed for secret '" + std::string(p.name) + "', not '" + policy.expected_name +
                   "' (a blob cannot be renamed)");
  }
  auto signer = check_signature(p, policy.provisioners);
  if (!signer) return signer.error();

  PkeyCtxPtr pctx(EVP_PKEY_CTX_new(private_key, nullptr));
  Wiped key(kMaxWrappedKey);
  std::size_t key_len = key.bytes.size();
  if (!pctx || EVP_PKEY_decrypt_init(pctx.get()) <= 0 || !oaep(pctx.get()) ||
      EVP_PKEY_decrypt(pctx.get(), key.bytes.data(), &key_len, uc(p.wrapped_key), p.wrapped_key.size()) <= 0 ||
      key_len != kKey) {
    return refused("the key was not sealed to this enclave (RSA-OAEP unwrap failed)");
  }
  CipherCtxPtr c(EVP_CIPHER_CTX_new());
  Wiped plain(p.ciphertext.size() + 1);  // + 1: never a zero-length buffer
  std::array<unsigned char, kTag> tag{};
  std::memcpy(tag.data(), p.tag.data(), kTag);
  int n = 0;
  int m = 0;
  if (!c || EVP_DecryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, key.bytes.data(), uc(p.iv)) != 1 ||
      EVP_DecryptUpdate(c.get(), nullptr, &n, uc(p.additional_data), static_cast<int>(p.additional_data.size())) != 1 ||
      EVP_DecryptUpdate(c.get(), plain.bytes.data(), &n, uc(p.ciphertext), static_cast<int>(p.ciphertext.size())) !=
          1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(c.get(), plain.bytes.data() + n, &m) != 1) {
    return refused("authentication failed (the envelope was altered)");
  }
  const auto size = static_cast<std::size_t>(n) + static_cast<std::size_t>(m);  // both >= 0 once Final succeeded
  if (size == 0) return refused("the value is empty");
  OpenedSecret opened{Secret(std::string_view(reinterpret_cast<const char*>(plain.bytes.data()), size)),
                      SealedHeader{std::string(p.name), Bytes(p.nonce.begin(), p.nonce.end()), p.algorithm,
                                   Bytes(p.signer_key_id.begin(), p.signer_key_id.end())},
                      std::move(*signer)};
  // Last: only a blob that passed every check may use up the nonce.
  if (auto st = policy.consume_nonce(p.nonce); !st) return refused(st.message());
  return opened;
}

}  // namespace notify::attestation
