#include "aws/cms_enveloped.hpp"

#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace notify::aws {
namespace {

// ---- the fixed values KMS sends (../shared/testdata/kms-recipient/README.md, "ASN.1 shape") ----------------------
using Oid = std::array<std::uint8_t, 9>;
constexpr Oid kIdEnvelopedData = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03};  // 1.2.840.113549.1.7.3
constexpr Oid kIdData = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};           // 1.2.840.113549.1.7.1
constexpr Oid kIdRsaesOaep = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07};      // 1.2.840.113549.1.1.7
constexpr Oid kIdMgf1 = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08};           // 1.2.840.113549.1.1.8
constexpr Oid kIdSha256 = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};         // 2.16.840.1.101.3.4.2.1
constexpr Oid kIdAes256Cbc = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a};      // 2.16.840.1.101.3.4.1.42

constexpr std::uint8_t kTagInteger = 0x02;
constexpr std::uint8_t kTagOctetString = 0x04;
constexpr std::uint8_t kTagNull = 0x05;
constexpr std::uint8_t kTagOid = 0x06;
constexpr std::uint8_t kTagSequence = 0x30;
constexpr std::uint8_t kTagSet = 0x31;
constexpr std::uint8_t kTagContext0Primitive = 0x80;
constexpr std::uint8_t kTagContext0 = 0xa0;
constexpr std::uint8_t kTagContext1 = 0xa1;
constexpr std::uint8_t kTagContext2 = 0xa2;
constexpr std::uint8_t kConstructed = 0x20;

constexpr std::size_t kRidBytes = 32;
constexpr std::size_t kIvBytes = 16;
constexpr std::size_t kCekBytes = 32;
constexpr std::size_t kAesBlock = 16;
constexpr std::size_t kMaxEncryptedKeyBytes = 1024;  // RSA-8192; KMS's recipient keys are RSA-2048
// The deepest element we read is the hash inside MGF1's parameters (level 10); anything deeper is not KMS's shape.
constexpr int kMaxDepth = 12;

// Thrown inside this file only, caught by parse_ciphertext_for_recipient: the walk below is a straight line of
// "read this, then that", and unwinding to the single catch keeps every step one line. It never crosses the API.
struct CmsError {
  std::string field;
  std::string what;
};

[[noreturn]] void fail(std::string_view field, std::string what) {
  throw CmsError{std::string(field), std::move(what)};
}

std::string hex_byte(std::uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

std::string hex_prefix(std::span<const std::byte> bytes, std::size_t n) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < std::min(n, bytes.size()); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(bytes[i]));
    out += buf;
  }
  return out;
}

// A constructed element being read: where its content ends (for an indefinite one, the enclosing limit: its end
// is the end-of-contents octets we find before that limit).
struct Scope {
  std::size_t end = 0;
  bool indefinite = false;
  std::string_view field;
};

class BerReader {
 public:
  explicit BerReader(std::span<const std::byte> in) : in_(in) {}

  [[nodiscard]] Scope whole() const { return Scope{in_.size(), false, "input"}; }
  [[nodiscard]] std::size_t position() const { return pos_; }

  // Enters a constructed element with tag `tag` that lies inside `parent`.
  Scope enter(std::uint8_t tag, std::string_view field, const Scope& parent, bool definite_only = false) {
    const auto h = header(field, parent);
    expect_tag(h.tag, tag, field);
    if (h.indefinite && definite_only) fail(field, "indefinite length not accepted here");
    if (++depth_ > kMaxDepth) fail(field, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
    return h.indefinite ? Scope{parent.end, true, field} : Scope{pos_ + h.length, false, field};
  }

  // Leaves `s`: nothing of it may be left unread, and an indefinite one must end in 00 00.
  void leave(const Scope& s) {
    --depth_;
    if (s.indefinite) {
      if (s.end - pos_ < 2) fail(s.field, "truncated (no end-of-contents)");
      if (in_[pos_] != std::byte{0} || in_[pos_ + 1] != std::byte{0}) {
        fail(s.field, "unexpected element " + hex_byte(byte_at(pos_)) + " before its end-of-contents");
      }
      pos_ += 2;
    } else if (pos_ != s.end) {
      fail(s.field, "unexpected element " + hex_byte(byte_at(pos_)) + " at its end");
    }
  }

  // True when `s` has nothing more to read.
  [[nodiscard]] bool at_end(const Scope& s) const {
    if (!s.indefinite) return pos_ >= s.end;
    return s.end - pos_ >= 2 && in_[pos_] == std::byte{0} && in_[pos_ + 1] == std::byte{0};
  }

  // The tag of the next element, without consuming it (nullopt at the end of the input).
  [[nodiscard]] std::optional<std::uint8_t> peek_tag(const Scope& s) const {
    if (pos_ >= s.end) return std::nullopt;
    return byte_at(pos_);
  }

  // Reads a primitive element with tag `tag` and returns its content.
  std::span<const std::byte> primitive(std::uint8_t tag, std::string_view field, const Scope& parent) {
    const auto h = header(field, parent);
    expect_tag(h.tag, tag, field);
    const auto content = in_.subspan(pos_, h.length);
    pos_ += h.length;
    return content;
  }

  void expect_oid(const Oid& oid, std::string_view field, const Scope& parent, std::string_view what) {
    const auto content = primitive(kTagOid, field, parent);
    if (content.size() != oid.size() ||
        !std::equal(content.begin(), content.end(), oid.begin(),
                    [](std::byte a, std::uint8_t b) { return std::to_integer<std::uint8_t>(a) == b; })) {
      fail(field, "not " + std::string(what));
    }
  }

  void expect_version(int version, std::string_view field, const Scope& parent) {
    const auto content = primitive(kTagInteger, field, parent);
    if (content.size() != 1) fail(field, "expected the INTEGER " + std::to_string(version));
    const auto found = std::to_integer<int>(content[0]);
    if (found != version) fail(field, "expected " + std::to_string(version) + ", found " + std::to_string(found));
  }

 private:
  struct Header {
    std::uint8_t tag = 0;
    bool indefinite = false;
    std::size_t length = 0;
  };

  [[nodiscard]] std::uint8_t byte_at(std::size_t i) const { return std::to_integer<std::uint8_t>(in_[i]); }

  static void expect_tag(std::uint8_t found, std::uint8_t wanted, std::string_view field) {
    if (found != wanted) fail(field, "expected tag " + hex_byte(wanted) + ", found " + hex_byte(found));
  }

  // Reads one identifier + length. Every length is checked against the bytes left in `parent` before it is used.
  Header header(std::string_view field, const Scope& parent) {
    const std::size_t limit = parent.end;
    if (pos_ >= limit) fail(field, "truncated (missing)");
    Header h;
    h.tag = byte_at(pos_++);
    if ((h.tag & 0x1f) == 0x1f) fail(field, "high tag number form is not accepted");
    if (pos_ >= limit) fail(field, "truncated (no length)");
    const std::uint8_t first = byte_at(pos_++);
    if (first == 0x80) {
      if ((h.tag & kConstructed) == 0) fail(field, "indefinite length on a primitive element");
      h.indefinite = true;
      return h;
    }
    if (first < 0x80) {
      h.length = first;
    } else {
      const std::size_t count = first & 0x7f;
      if (count > 4) fail(field, "length of " + std::to_string(count) + " bytes is not accepted");
      if (limit - pos_ < count) fail(field, "truncated (length)");
      for (std::size_t i = 0; i < count; ++i) h.length = (h.length << 8) | byte_at(pos_++);
    }
    if (h.length > limit - pos_) {
      fail(field, "declared length " + std::to_string(h.length) + " exceeds the " + std::to_string(limit - pos_) +
                      " bytes left");
    }
    return h;
  }

  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

template <class Span>
std::vector<std::byte> copy(Span s) {
  return std::vector<std::byte>(s.begin(), s.end());
}

// AlgorithmIdentifier { sha256, NULL or absent }.
void read_sha256_identifier(BerReader& r, const Scope& parent, std::string_view field) {
  const auto alg = r.enter(kTagSequence, field, parent, true);
  r.expect_oid(kIdSha256, field, alg, "SHA-256");
  if (!r.at_end(alg)) {
    const auto null = r.primitive(kTagNull, field, alg);
    if (!null.empty()) fail(field, "parameters must be NULL");
  }
  r.leave(alg);
}

// RSAES-OAEP-params with hashFunc [0] = SHA-256 and maskGenFunc [1] = MGF1(SHA-256), both stated (the defaults are
// SHA-1), and no pSourceFunc [2] (KMS uses the empty label).
void read_oaep_algorithm(BerReader& r, const Scope& ktri) {
  constexpr std::string_view kField = "keyEncryptionAlgorithm";
  const auto alg = r.enter(kTagSequence, kField, ktri, true);
  r.expect_oid(kIdRsaesOaep, "keyEncryptionAlgorithm.algorithm", alg, "id-RSAES-OAEP");
  const auto params = r.enter(kTagSequence, "keyEncryptionAlgorithm.parameters", alg, true);
  if (r.peek_tag(params) != kTagContext0) {
    fail("keyEncryptionAlgorithm.hashFunc", "missing (the default SHA-1 is not accepted)");
  }
  const auto hash = r.enter(kTagContext0, "keyEncryptionAlgorithm.hashFunc", params, true);
  read_sha256_identifier(r, hash, "keyEncryptionAlgorithm.hashFunc");
  r.leave(hash);
  if (r.peek_tag(params) != kTagContext1) {
    fail("keyEncryptionAlgorithm.maskGenFunc", "missing (the default MGF1-SHA-1 is not accepted)");
  }
  const auto mgf = r.enter(kTagContext1, "keyEncryptionAlgorithm.maskGenFunc", params, true);
  const auto mgf_alg = r.enter(kTagSequence, "keyEncryptionAlgorithm.maskGenFunc", mgf, true);
  r.expect_oid(kIdMgf1, "keyEncryptionAlgorithm.maskGenFunc", mgf_alg, "id-mgf1");
  read_sha256_identifier(r, mgf_alg, "keyEncryptionAlgorithm.maskGenFunc.hash");
  r.leave(mgf_alg);
  r.leave(mgf);
  if (r.peek_tag(params) == kTagContext2) fail("keyEncryptionAlgorithm.pSourceFunc", "a label is not accepted");
  r.leave(params);
  r.leave(alg);
}

void read_recipient_infos(BerReader& r, const Scope& enveloped, EnvelopedParts& out) {
  const auto set = r.enter(kTagSet, "recipientInfos", enveloped, true);
  if (r.at_end(set)) fail("recipientInfos", "empty");
  const auto first = r.peek_tag(set);
  if (first != kTagSequence) {
    fail("recipientInfos", "only a KeyTransRecipientInfo is accepted, found tag " + hex_byte(first.value_or(0)));
  }
  const auto ktri = r.enter(kTagSequence, "KeyTransRecipientInfo", set, true);
  r.expect_version(2, "KeyTransRecipientInfo.version", ktri);
  if (r.peek_tag(ktri) == kTagSequence) {
    fail("rid", "issuerAndSerialNumber is not accepted (expected [0] subjectKeyIdentifier)");
  }
  const auto rid = r.primitive(kTagContext0Primitive, "rid", ktri);
  if (rid.size() != kRidBytes) {
    fail("rid", "expected " + std::to_string(kRidBytes) + " bytes, found " + std::to_string(rid.size()));
  }
  out.recipient_key_id = copy(rid);
  read_oaep_algorithm(r, ktri);
  const auto key = r.primitive(kTagOctetString, "encryptedKey", ktri);
  if (key.empty() || key.size() > kMaxEncryptedKeyBytes) {
    fail("encryptedKey", "size " + std::to_string(key.size()) + " is not 1.." + std::to_string(kMaxEncryptedKeyBytes));
  }
  out.encrypted_key = copy(key);
  r.leave(ktri);
  if (!r.at_end(set)) fail("recipientInfos", "more than one RecipientInfo");
  r.leave(set);
}

void read_encrypted_content(BerReader& r, const Scope& eci, EnvelopedParts& out) {
  constexpr std::string_view kField = "encryptedContent";
  const auto tag = r.peek_tag(eci);
  if (!tag || r.at_end(eci)) fail(kField, "missing");
  if (*tag == kTagContext0Primitive) {
    out.ciphertext = copy(r.primitive(kTagContext0Primitive, kField, eci));
  } else {
    const auto content = r.enter(kTagContext0, kField, eci);
    if (r.at_end(content)) fail(kField, "no OCTET STRING chunk");
    while (!r.at_end(content)) {
      const auto chunk = r.primitive(kTagOctetString, "encryptedContent chunk", content);
      out.ciphertext.insert(out.ciphertext.end(), chunk.begin(), chunk.end());
    }
    r.leave(content);
  }
  if (out.ciphertext.empty() || out.ciphertext.size() % kAesBlock != 0) {
    fail(kField, std::to_string(out.ciphertext.size()) + " bytes is not a whole number of AES blocks");
  }
}

void read_encrypted_content_info(BerReader& r, const Scope& enveloped, EnvelopedParts& out) {
  const auto eci = r.enter(kTagSequence, "EncryptedContentInfo", enveloped);
  r.expect_oid(kIdData, "EncryptedContentInfo.contentType", eci, "id-data");
  const auto alg = r.enter(kTagSequence, "contentEncryptionAlgorithm", eci, true);
  r.expect_oid(kIdAes256Cbc, "contentEncryptionAlgorithm", alg, "AES-256-CBC");
  const auto iv = r.primitive(kTagOctetString, "contentEncryptionAlgorithm.iv", alg);
  if (iv.size() != kIvBytes) {
    fail("contentEncryptionAlgorithm.iv", "expected 16 bytes, found " + std::to_string(iv.size()));
  }
  out.iv = copy(iv);
  r.leave(alg);
  read_encrypted_content(r, eci, out);
  r.leave(eci);
}

EnvelopedParts parse(std::span<const std::byte> ber) {
  EnvelopedParts out;
  BerReader r(ber);
  const auto input = r.whole();
  const auto content_info = r.enter(kTagSequence, "ContentInfo", input);
  r.expect_oid(kIdEnvelopedData, "ContentInfo.contentType", content_info, "id-envelopedData");
  const auto explicit0 = r.enter(kTagContext0, "ContentInfo.content", content_info);
  const auto enveloped = r.enter(kTagSequence, "EnvelopedData", explicit0);
  r.expect_version(2, "EnvelopedData.version", enveloped);
  if (r.peek_tag(enveloped) == kTagContext0) fail("EnvelopedData.originatorInfo", "not accepted");
  read_recipient_infos(r, enveloped, out);
  read_encrypted_content_info(r, enveloped, out);
  if (!r.at_end(enveloped)) fail("EnvelopedData.unprotectedAttrs", "not accepted");
  r.leave(enveloped);
  r.leave(explicit0);
  r.leave(content_info);
  if (r.position() != ber.size()) {
    fail("input", std::to_string(ber.size() - r.position()) + " trailing bytes after ContentInfo");
  }
  return out;
}

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// Key material and plaintext: wiped when they go out of scope, whatever path leaves the function.
struct Wiped {
  std::vector<unsigned char> bytes;
  explicit Wiped(std::size_t n) : bytes(n) {}
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

Error cms_error(std::string_view field, std::string_view what) {
  return Error{Errc::protocol_error, "cms: " + std::string(field) + ": " + std::string(what)};
}

const unsigned char* uc(std::span<const std::byte> s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

Result<EnvelopedParts> parse_ciphertext_for_recipient(std::span<const std::byte> ber) {
  if (ber.size() > kMaxCiphertextForRecipientBytes) {
    return cms_error("input", std::to_string(ber.size()) + " bytes exceeds the limit of " +
                                  std::to_string(kMaxCiphertextForRecipientBytes));
  }
  try {
    return parse(ber);
  } catch (const CmsError& e) {
    return cms_error(e.field, e.what);
  }
}

std::vector<std::byte> subject_key_identifier(EVP_PKEY* key) {
  if (key == nullptr) return {};
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return {};
  std::vector<std::byte> out(SHA256_DIGEST_LENGTH);
  SHA256(der, static_cast<std::size_t>(len), reinterpret_cast<unsigned char*>(out.data()));
  OPENSSL_free(der);
  return out;
}

Result<Secret> open_ciphertext_for_recipient(std::span<const std::byte> ber, EVP_PKEY* private_key) {
  if (private_key == nullptr || EVP_PKEY_get_base_id(private_key) != EVP_PKEY_RSA) {
    return Error{Errc::invalid_argument, "cms: key: not an RSA private key"};
  }
  auto parsed = parse_ciphertext_for_recipient(ber);
  if (!parsed) return parsed.error();
  const EnvelopedParts& parts = parsed.value();

  // A blob for another key would only fail after a costly RSA operation with a vague error; the rid says it first.
  const auto ours = subject_key_identifier(private_key);
  if (ours.empty()) return Error{Errc::internal, "cms: key: cannot encode its public half"};
  if (ours != parts.recipient_key_id) {
    return cms_error("rid", "not encrypted to this enclave's key (recipient key id " +
                                hex_prefix(parts.recipient_key_id, 8) + "..., ours " + hex_prefix(ours, 8) + "...)");
  }

  PkeyCtxPtr pctx(EVP_PKEY_CTX_new(private_key, nullptr));
  const int key_size = EVP_PKEY_get_size(private_key);
  if (!pctx || key_size <= 0) return Error{Errc::internal, "cms: key: cannot create an RSA context"};
  Wiped cek(static_cast<std::size_t>(key_size));
  std::size_t cek_len = cek.bytes.size();
  if (EVP_PKEY_decrypt_init(pctx.get()) <= 0 || EVP_PKEY_CTX_set_rsa_padding(pctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(pctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx.get(), EVP_sha256()) <= 0) {
    return Error{Errc::internal, "cms: key: RSA-OAEP setup failed"};
  }
  if (EVP_PKEY_decrypt(pctx.get(), cek.bytes.data(), &cek_len, uc(parts.encrypted_key), parts.encrypted_key.size()) <=
      0) {
    return cms_error("encryptedKey", "RSA-OAEP-SHA256 unwrap failed");
  }
  if (cek_len != kCekBytes) {
    return cms_error("encryptedKey",
                     "the content-encryption key is " + std::to_string(cek_len) + " bytes, expected 32 (AES-256)");
  }

  CipherCtxPtr c(EVP_CIPHER_CTX_new());
  Wiped plain(parts.ciphertext.size() + kAesBlock);
  int n = 0;
  int m = 0;
  if (!c || EVP_DecryptInit_ex(c.get(), EVP_aes_256_cbc(), nullptr, cek.bytes.data(), uc(parts.iv)) != 1) {
    return Error{Errc::internal, "cms: AES-256-CBC setup failed"};
  }
  if (EVP_DecryptUpdate(c.get(), plain.bytes.data(), &n, uc(parts.ciphertext),
                        static_cast<int>(parts.ciphertext.size())) != 1 ||
      EVP_DecryptFinal_ex(c.get(), plain.bytes.data() + n, &m) != 1) {
    return cms_error("encryptedContent", "bad PKCS#7 padding after AES-256-CBC (altered ciphertext or wrong key)");
  }
  return Secret(std::string_view(reinterpret_cast<const char*>(plain.bytes.data()), static_cast<std::size_t>(n + m)));
}

}  // namespace notify::aws
