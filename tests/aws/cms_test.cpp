// The CiphertextForRecipient opener against the four real KMS answers in ../shared/testdata/kms-recipient, against
// hostile variants of them, and against the fake KMS's builder (cross-checked with the openssl CLI).
#include "aws/cms_enveloped.hpp"
#include "cms_builder.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace notify::aws {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::byte>;

const fs::path kVectors = fs::path(NOTIFY_SHARED_TESTDATA) / "kms-recipient";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

Bytes read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  const std::string text = s.str();
  const auto* b = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(b, b + text.size());
}

std::string as_string(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

std::string to_hex(std::span<const std::byte> b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (auto x : b) {
    out.push_back(kHex[std::to_integer<unsigned>(x) >> 4]);
    out.push_back(kHex[std::to_integer<unsigned>(x) & 0x0f]);
  }
  return out;
}

PkeyPtr load_private_key(const fs::path& pem) {
  BioPtr bio(BIO_new_file(pem.c_str(), "r"));
  if (!bio) throw std::runtime_error("cannot open " + pem.string());
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw std::runtime_error("cannot parse " + pem.string());
  return key;
}

PkeyPtr fresh_rsa_key(unsigned bits) {
  PkeyPtr key(EVP_RSA_gen(bits));
  if (!key) throw std::runtime_error("RSA key generation failed");
  return key;
}

Bytes spki_der(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) throw std::runtime_error("i2d_PUBKEY failed");
  Bytes out(reinterpret_cast<std::byte*>(der), reinterpret_cast<std::byte*>(der) + len);
  OPENSSL_free(der);
  return out;
}

Bytes bytes_of(std::string_view s) {
  const auto* b = reinterpret_cast<const std::byte*>(s.data());
  return Bytes(b, b + s.size());
}

Poco::JSON::Object::Ptr manifest_entry(const std::string& file) {
  Poco::JSON::Parser parser;
  const auto text = as_string(read_bytes(kVectors / "manifest.json"));
  const auto all = parser.parse(text).extract<Poco::JSON::Array::Ptr>();
  for (std::size_t i = 0; i < all->size(); ++i) {
    auto entry = all->getObject(static_cast<unsigned>(i));
    if (entry->getValue<std::string>("file") == file) return entry;
  }
  throw std::runtime_error("no manifest entry for " + file);
}

const std::vector<std::string> kAllVectors = {"enclaver_ciphertext_for_recipient.ber",
                                              "enclaver_go_ciphertext_for_recipient.ber", "sdkc_input_ber.ber",
                                              "sdkc_input_ber_w_ctx.ber"};

// The enclaver blob, for tampering. Offsets from the README's "ASN.1 shape".
Bytes enclaver_blob() { return read_bytes(kVectors / "enclaver_ciphertext_for_recipient.ber"); }
PkeyPtr enclaver_key() { return load_private_key(kVectors / "enclaver_recipient_key.pem"); }

// Parse must refuse with a protocol error whose message names `field`.
void expect_refused(const Bytes& ber, std::string_view field) {
  const auto r = parse_ciphertext_for_recipient(ber);
  ASSERT_FALSE(r.ok()) << "accepted, expected a refusal naming " << field;
  EXPECT_EQ(r.error().code, Errc::protocol_error);
  EXPECT_EQ(r.error().message.rfind("cms: ", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find(field), std::string::npos)
      << "'" << r.error().message << "' does not name " << field;
}

// ---- the real vectors -------------------------------------------------------------------------------------------

TEST(CmsVectors, EnclaverBlobsDecryptToTheExpectedPlaintext) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"enclaver_ciphertext_for_recipient.ber", "enclaver_recipient_key.pem", "enclaver_expected_plaintext.txt"},
      {"enclaver_go_ciphertext_for_recipient.ber", "enclaver_go_recipient_key.pem",
       "enclaver_go_expected_plaintext.bin"},
  };
  for (const auto& [blob, key, plaintext] : cases) {
    const auto k = load_private_key(kVectors / key);
    const auto opened = open_ciphertext_for_recipient(read_bytes(kVectors / blob), k.get());
    ASSERT_TRUE(opened.ok()) << blob << ": " << opened.error().message;
    EXPECT_EQ(opened->reveal(), as_string(read_bytes(kVectors / plaintext))) << blob;
  }
  // The upstream PKCS#1 form of the second key is the same key.
  const auto pkcs1 = load_private_key(kVectors / "enclaver_go_recipient_key_pkcs1.pem");
  EXPECT_TRUE(
      open_ciphertext_for_recipient(read_bytes(kVectors / "enclaver_go_ciphertext_for_recipient.ber"), pkcs1.get())
          .ok());
}

TEST(CmsVectors, SdkcBlobsParseToExactlyTheExpectedParts) {
  for (const std::string stem : {"sdkc_input_ber", "sdkc_input_ber_w_ctx"}) {
    const auto parts = parse_ciphertext_for_recipient(read_bytes(kVectors / (stem + ".ber")));
    ASSERT_TRUE(parts.ok()) << stem << ": " << parts.error().message;
    EXPECT_EQ(parts->encrypted_key, read_bytes(kVectors / (stem + ".expected_encrypted_key.bin"))) << stem;
    EXPECT_EQ(parts->iv, read_bytes(kVectors / (stem + ".expected_iv.bin"))) << stem;
    EXPECT_EQ(parts->ciphertext, read_bytes(kVectors / (stem + ".expected_ciphertext.bin"))) << stem;
  }
}

TEST(CmsVectors, EveryPartIsTheSliceTheManifestNames) {
  for (const auto& file : kAllVectors) {
    const auto ber = read_bytes(kVectors / file);
    const auto m = manifest_entry(file);
    ASSERT_EQ(ber.size(), m->getValue<std::size_t>("size_bytes")) << file;
    const auto parts = parse_ciphertext_for_recipient(ber);
    ASSERT_TRUE(parts.ok()) << file << ": " << parts.error().message;
    EXPECT_EQ(to_hex(parts->recipient_key_id), m->getValue<std::string>("rid_subjectKeyIdentifier_hex")) << file;
    const auto key_at = m->getValue<std::size_t>("encrypted_key_offset");
    const auto key_len = m->getValue<std::size_t>("encrypted_key_len");
    EXPECT_EQ(parts->encrypted_key, Bytes(ber.begin() + key_at, ber.begin() + key_at + key_len)) << file;
    EXPECT_EQ(to_hex(parts->iv), m->getValue<std::string>("iv_hex")) << file;
    EXPECT_EQ(to_hex(parts->ciphertext), m->getValue<std::string>("encrypted_content_hex")) << file;
  }
}

TEST(CmsVectors, SubjectKeyIdentifierOfTheKeysIsTheRid) {
  for (const auto& [blob, key] : std::vector<std::pair<std::string, std::string>>{
           {"enclaver_ciphertext_for_recipient.ber", "enclaver_recipient_key.pem"},
           {"enclaver_go_ciphertext_for_recipient.ber", "enclaver_go_recipient_key.pem"}}) {
    const auto k = load_private_key(kVectors / key);
    EXPECT_EQ(to_hex(subject_key_identifier(k.get())),
              manifest_entry(blob)->getValue<std::string>("rid_subjectKeyIdentifier_hex"))
        << key;
  }
  EXPECT_TRUE(subject_key_identifier(nullptr).empty());
}

// ---- hostile inputs ---------------------------------------------------------------------------------------------

TEST(CmsHostile, EveryTruncationFailsCleanly) {
  for (const auto& file : kAllVectors) {
    const auto ber = read_bytes(kVectors / file);
    for (std::size_t n = 0; n < ber.size(); ++n) {
      // A copy of exactly n bytes, so ASan sees any read past the prefix.
      const Bytes prefix(ber.begin(), ber.begin() + static_cast<std::ptrdiff_t>(n));
      const auto r = parse_ciphertext_for_recipient(prefix);
      ASSERT_FALSE(r.ok()) << file << " accepted at " << n << " bytes";
      ASSERT_EQ(r.error().code, Errc::protocol_error);
      ASSERT_EQ(r.error().message.rfind("cms: ", 0), 0u) << r.error().message;
    }
  }
  // Where it stops decides what the message names.
  const auto ber = enclaver_blob();
  expect_refused(Bytes(ber.begin(), ber.begin() + 200), "recipientInfos");
  expect_refused(Bytes(ber.begin(), ber.begin() + 440), "encryptedContent");
  expect_refused(Bytes(ber.begin(), ber.end() - 1), "ContentInfo");
}

TEST(CmsHostile, FlippedByteInTheOaepOidIsRefused) {
  auto ber = enclaver_blob();
  ber[77] ^= std::byte{0x01};  // last byte of id-RSAES-OAEP (1.2.840.113549.1.1.7 -> .6)
  expect_refused(ber, "keyEncryptionAlgorithm");
  const auto key = enclaver_key();
  const auto opened = open_ciphertext_for_recipient(ber, key.get());
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("keyEncryptionAlgorithm"), std::string::npos);
}

TEST(CmsHostile, WeakOrOtherAlgorithmsAreRefused) {
  {
    auto ber = enclaver_blob();
    ber[94] ^= std::byte{0x02};  // hashFunc sha256 (.2.1) -> sha512 (.2.3)
    expect_refused(ber, "keyEncryptionAlgorithm.hashFunc");
  }
  {
    auto ber = enclaver_blob();
    ber[111] ^= std::byte{0x01};  // id-mgf1 (.1.8) -> id-pSpecified (.1.9)
    expect_refused(ber, "keyEncryptionAlgorithm.maskGenFunc");
  }
  {
    auto ber = enclaver_blob();
    ber[124] ^= std::byte{0x02};  // MGF1's hash sha256 -> sha512
    expect_refused(ber, "keyEncryptionAlgorithm.maskGenFunc.hash");
  }
  {
    auto ber = enclaver_blob();
    ber[412] = std::byte{0x02};  // aes256-CBC (.42) -> aes128-CBC (.2)
    expect_refused(ber, "contentEncryptionAlgorithm");
  }
  {
    auto ber = enclaver_blob();
    ber[19] = std::byte{0x00};  // EnvelopedData version 2 -> 0
    expect_refused(ber, "EnvelopedData.version");
  }
  {
    auto ber = enclaver_blob();
    ber[30] = std::byte{0x00};  // KTRI version 2 -> 0
    expect_refused(ber, "KeyTransRecipientInfo.version");
  }
  {
    auto ber = enclaver_blob();
    ber[12] = std::byte{0x01};  // contentType envelopedData -> data
    expect_refused(ber, "ContentInfo.contentType");
  }
}

TEST(CmsHostile, AnotherKeyIsRefusedByTheRidBeforeAnyRsaWork) {
  const auto other = load_private_key(kVectors / "enclaver_go_recipient_key.pem");
  const auto opened = open_ciphertext_for_recipient(enclaver_blob(), other.get());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::protocol_error);
  // "rid", not "encryptedKey": the refusal came from comparing key ids, not from a failed RSA decryption.
  EXPECT_EQ(opened.error().message.rfind("cms: rid: not encrypted to this enclave's key", 0), 0u)
      << opened.error().message;

  const auto fresh = fresh_rsa_key(2048);
  EXPECT_FALSE(open_ciphertext_for_recipient(enclaver_blob(), fresh.get()).ok());
  EXPECT_FALSE(open_ciphertext_for_recipient(enclaver_blob(), nullptr).ok());
}

TEST(CmsHostile, ARidForOurKeyOnAnotherKeysBlobFailsInTheUnwrap) {
  // The rid is public: a forger can copy ours, but then the RSA unwrap fails, without revealing anything.
  auto ber = read_bytes(kVectors / "enclaver_go_ciphertext_for_recipient.ber");
  const auto key = enclaver_key();
  const auto ours = subject_key_identifier(key.get());
  std::copy(ours.begin(), ours.end(), ber.begin() + 33);
  const auto opened = open_ciphertext_for_recipient(ber, key.get());
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("encryptedKey"), std::string::npos) << opened.error().message;
}

TEST(CmsHostile, TamperedContentFailsThePaddingCheck) {
  const auto key = enclaver_key();
  {
    // Flipping the IV's last bit turns the final pad byte 04 into 05: invalid PKCS#7 padding, deterministically.
    auto ber = enclaver_blob();
    ber[430] ^= std::byte{0x01};
    const auto opened = open_ciphertext_for_recipient(ber, key.get());
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().message.find("encryptedContent"), std::string::npos) << opened.error().message;
    EXPECT_NE(opened.error().message.find("padding"), std::string::npos) << opened.error().message;
  }
  {
    auto ber = enclaver_blob();
    ber[450] ^= std::byte{0x80};  // last ciphertext byte: the whole block decrypts to noise
    const auto opened = open_ciphertext_for_recipient(ber, key.get());
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().message.find("encryptedContent"), std::string::npos) << opened.error().message;
  }
  {
    auto ber = enclaver_blob();
    ber[300] ^= std::byte{0x01};  // inside encryptedKey: OAEP's integrity check refuses it
    const auto opened = open_ciphertext_for_recipient(ber, key.get());
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().message.find("encryptedKey"), std::string::npos) << opened.error().message;
  }
}

TEST(CmsHostile, TrailingBytesAreRefused) {
  auto ber = enclaver_blob();
  ber.push_back(std::byte{0x00});
  expect_refused(ber, "trailing");
  ber.back() = std::byte{0x30};
  expect_refused(ber, "trailing");
}

TEST(CmsHostile, DeclaredLengthLargerThanTheInputIsRefused) {
  {
    auto ber = enclaver_blob();
    ber[129] = std::byte{0xff};  // encryptedKey 04 82 0100 -> 04 82 ff00
    expect_refused(ber, "encryptedKey");
    expect_refused(ber, "exceeds");
  }
  {
    auto ber = enclaver_blob();
    ber[22] = std::byte{0x7f};  // RecipientInfos SET 31 82 016b -> 31 82 7f6b
    expect_refused(ber, "recipientInfos");
  }
  {
    // A definite ContentInfo claiming 2 GiB.
    const Bytes ber = {std::byte{0x30}, std::byte{0x84}, std::byte{0x7f}, std::byte{0xff},
                       std::byte{0xff}, std::byte{0xff}, std::byte{0x06}, std::byte{0x09}};
    expect_refused(ber, "ContentInfo");
    expect_refused(ber, "declared length");
  }
  {
    // A length of length beyond 4 bytes (a 64-bit length).
    const Bytes ber = {std::byte{0x30}, std::byte{0x88}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00},
                       std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x02}};
    expect_refused(ber, "ContentInfo");
  }
}

TEST(CmsHostile, NestingBombsAreRefusedWithoutRecursion) {
  // At the top.
  Bytes bomb;
  while (bomb.size() + 2 <= kMaxCiphertextForRecipientBytes) {
    bomb.push_back(std::byte{0x30});
    bomb.push_back(std::byte{0x80});
  }
  expect_refused(bomb, "ContentInfo.contentType");
  // Inside encryptedContent, where indefinite lengths are legal.
  auto ber = enclaver_blob();
  Bytes inner(ber.begin(), ber.begin() + 433);
  while (inner.size() + 2 <= kMaxCiphertextForRecipientBytes) {
    inner.push_back(std::byte{0xa0});
    inner.push_back(std::byte{0x80});
  }
  expect_refused(inner, "encryptedContent");
  // Indefinite [0] levels where a definite length is required.
  auto set = enclaver_blob();
  set[21] = std::byte{0x80};
  expect_refused(set, "recipientInfos");
}

TEST(CmsHostile, OversizeInputIsRefusedBeforeParsing) {
  auto ber = enclaver_blob();
  ber.resize(kMaxCiphertextForRecipientBytes + 1, std::byte{0});
  expect_refused(ber, "input");
  expect_refused(ber, "limit");
}

TEST(CmsHostile, MoreThanOneRecipientInfoIsRefused) {
  const auto ber = enclaver_blob();
  // Duplicate the KeyTransRecipientInfo (offsets 24..386) and grow the SET's length (363 -> 726).
  Bytes two(ber.begin(), ber.begin() + 387);
  two.insert(two.end(), ber.begin() + 24, ber.begin() + 387);
  two.insert(two.end(), ber.begin() + 387, ber.end());
  two[22] = std::byte{0x02};
  two[23] = std::byte{0xd6};
  expect_refused(two, "more than one RecipientInfo");
}

TEST(CmsHostile, EmptyAndJunkInputsAreRefused) {
  expect_refused({}, "ContentInfo");
  expect_refused(bytes_of("not a cms blob at all"), "ContentInfo");
  expect_refused({std::byte{0x1f}, std::byte{0x01}, std::byte{0x00}}, "high tag");
  expect_refused({std::byte{0x04}, std::byte{0x80}}, "ContentInfo");
}

// ---- the fake KMS's builder -------------------------------------------------------------------------------------

TEST(CmsBuilder, RoundTripsThroughTheOpener) {
  const auto key = fresh_rsa_key(2048);
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{32},
                           std::size_t{200}, std::size_t{4096}}) {
    std::string plaintext(size, '\0');
    for (std::size_t i = 0; i < size; ++i) plaintext[i] = static_cast<char>('a' + i % 26);
    const auto blob = notify::testing::build_ciphertext_for_recipient(spki_der(key.get()), bytes_of(plaintext));
    const auto opened = open_ciphertext_for_recipient(blob, key.get());
    ASSERT_TRUE(opened.ok()) << size << ": " << opened.error().message;
    EXPECT_EQ(opened->reveal(), plaintext);
  }
  // Another key size changes the definite lengths; still KMS's shape.
  const auto big = fresh_rsa_key(3072);
  const auto blob = notify::testing::build_ciphertext_for_recipient(spki_der(big.get()), bytes_of("x"));
  const auto opened = open_ciphertext_for_recipient(blob, big.get());
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->reveal(), "x");
}

TEST(CmsBuilder, HasTheSameStructureAsTheRealKmsAnswer) {
  const auto real = enclaver_blob();
  const auto key = fresh_rsa_key(2048);
  const auto built = notify::testing::build_ciphertext_for_recipient(spki_der(key.get()), bytes_of("Hello, World"));
  ASSERT_EQ(built.size(), real.size());
  // Every byte is the same except the four variable fields: rid, encryptedKey, IV and ciphertext.
  auto same = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) ASSERT_EQ(built[i], real[i]) << "byte " << i;
  };
  same(0, 33);     // ContentInfo .. rid header
  same(65, 131);   // keyEncryptionAlgorithm, encryptedKey header
  same(387, 415);  // EncryptedContentInfo .. IV header
  same(431, 435);  // encryptedContent header and its chunk's header
  same(451, 461);  // five end-of-contents
  const auto parts = parse_ciphertext_for_recipient(built);
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->recipient_key_id, subject_key_identifier(key.get()));
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "notify-cms-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, std::span<const std::byte> data) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

TEST(CmsBuilder, OpensslCmsDecryptsWhatItBuilds) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl CLI";
  TempDir dir;
  const auto key = fresh_rsa_key(2048);
  {
    BioPtr bio(BIO_new_file((dir.path() / "key.pem").c_str(), "w"));
    ASSERT_TRUE(bio);
    ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  }
  std::string plaintext = "braze-api-key-0123456789";
  for (int i = 0; i < 20; ++i) plaintext += " and more text to make a multi-byte length";
  write_file(dir.path() / "blob.ber",
             notify::testing::build_ciphertext_for_recipient(spki_der(key.get()), bytes_of(plaintext)));
  const std::string cmd = "openssl cms -decrypt -inform DER -binary -in '" + (dir.path() / "blob.ber").string() +
                          "' -inkey '" + (dir.path() / "key.pem").string() + "' -out '" +
                          (dir.path() / "out.bin").string() + "' 2>'" + (dir.path() / "err.txt").string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << as_string(read_bytes(dir.path() / "err.txt"));
  EXPECT_EQ(as_string(read_bytes(dir.path() / "out.bin")), plaintext);
}

}  // namespace
}  // namespace notify::aws
