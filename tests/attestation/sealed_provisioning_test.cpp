// Sealed provisioning the enclave can trust: the ENS2 envelope (bound to a name and a single-use nonce, optionally
// signed by an operator key), the provisioning nonce store, and the enclave's policy around them.
#include "enclave/identity/sealed_provisioning.hpp"
#include "attestation/provisioners.hpp"
#include "attestation/sealing.hpp"
#include "attestation/verifier.hpp"
#include "capturing_log.hpp"
#include "enclave/identity/enclave_identity.hpp"
#include "enclave/identity/provisioning_nonces.hpp"
#include "envelope_crafter.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstring>
#include <memory>

using namespace notify;
using namespace notify::attestation;
using namespace std::chrono_literals;

namespace {

const std::string kName = "braze.api_key";
const std::string kValue = "braze-REST-key-0f1e2d3c4b5a6978";

Bytes bytes_of(std::string_view s) {
  Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

Bytes random_nonce() {
  Bytes n(32);
  for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::byte>((i * 37 + 11) & 0xff);
  return n;
}

std::string public_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

PkeyPtr p256() { return PkeyPtr(EVP_EC_gen("P-256")); }
PkeyPtr ed25519() { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")); }

Provisioner listed(const std::string& name, EVP_PKEY* key) {
  auto p = provisioner_from_pem(name, public_pem(key));
  EXPECT_TRUE(p.ok()) << p.error().message;
  return std::move(p.value());
}

// The nonces a test enclave has outstanding, and how often one was used.
struct Nonces {
  std::vector<Bytes> outstanding;
  int consumed = 0;
  OpenPolicy policy(std::string name, std::span<const Provisioner> provisioners = {}) {
    OpenPolicy p;
    p.expected_name = std::move(name);
    p.provisioners = provisioners;
    p.consume_nonce = [this](std::span<const std::byte> nonce) -> Status {
      auto it = std::find_if(outstanding.begin(), outstanding.end(), [&](const Bytes& b) {
        return std::equal(b.begin(), b.end(), nonce.begin(), nonce.end());
      });
      if (it == outstanding.end()) return Error{Errc::refused, "its nonce is not outstanding"};
      outstanding.erase(it);
      ++consumed;
      return {};
    };
    return p;
  }
};

std::string text(const Error& e) { return e.message; }

class SealedEnvelope : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    notify::testing::CapturingLog log;
    auto id = EnclaveIdentity::create(AttesterMode::development, log);
    ASSERT_TRUE(id.ok()) << id.error().message;
    identity_ = std::move(id.value());
    auto other = EnclaveIdentity::create(AttesterMode::development, log);
    ASSERT_TRUE(other.ok());
    other_ = std::move(other.value());
  }
  static void TearDownTestSuite() {
    identity_.reset();
    other_.reset();
  }
  static EnclaveIdentity& id() { return *identity_; }
  Bytes seal(std::string_view value, std::string_view name, const Bytes& nonce, EVP_PKEY* signer = nullptr) {
    auto sealed = seal_secret(value, name, nonce, id().public_key_der(), signer);
    EXPECT_TRUE(sealed.ok()) << sealed.error().message;
    return sealed.ok() ? *sealed : Bytes{};
  }

  // One RSA identity per suite: key generation is the slow part.
  static inline std::unique_ptr<EnclaveIdentity> identity_;
  static inline std::unique_ptr<EnclaveIdentity> other_;
};

}  // namespace

TEST_F(SealedEnvelope, RoundTripBindsTheNameAndTheNonceAndUsesTheNonceOnce) {
  const Bytes nonce = random_nonce();
  const Bytes blob = seal(kValue, kName, nonce);
  const std::string raw(reinterpret_cast<const char*>(blob.data()), blob.size());
  EXPECT_EQ(raw.rfind("ENS2", 0), 0u);
  EXPECT_EQ(raw.find(kValue), std::string::npos);

  auto header = inspect_sealed_secret(blob);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->name, kName);
  EXPECT_EQ(header->nonce, nonce);
  EXPECT_EQ(header->algorithm, SignatureAlgorithm::none);
  EXPECT_TRUE(header->signer_key_id.empty());

  Nonces nonces{{nonce}};
  auto opened = id().open_sealed(blob, nonces.policy(kName));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->value.reveal(), kValue);
  EXPECT_EQ(opened->header.name, kName);
  EXPECT_TRUE(opened->signer.empty());
  EXPECT_EQ(nonces.consumed, 1);

  auto replay = id().open_sealed(blob, nonces.policy(kName));
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code, Errc::refused);
  EXPECT_EQ(text(replay.error()), "sealed blob: its nonce is not outstanding");
}

TEST_F(SealedEnvelope, ABlobForAnotherNameIsRefusedAndKeepsItsNonce) {
  const Bytes nonce = random_nonce();
  const Bytes blob = seal(kValue, "braze.other_key", nonce);
  Nonces nonces{{nonce}};
  auto r = id().open_sealed(blob, nonces.policy(kName));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(text(r.error()),
            "sealed blob: sealed for secret 'braze.other_key', not 'braze.api_key' (a blob cannot be renamed)");
  EXPECT_EQ(nonces.consumed, 0);

  // Renaming the header as well (same length, so every length still fits) breaks the AEAD: the name is bound.
  Bytes renamed = blob;
  const std::size_t last = 4 + 1 + std::string("braze.other_key").size() - 1;
  renamed[last] = std::byte{'x'};
  auto bound = id().open_sealed(renamed, nonces.policy("braze.other_kex"));
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(text(bound.error()), "sealed blob: authentication failed (the envelope was altered)");
  EXPECT_EQ(nonces.consumed, 0);
}

TEST_F(SealedEnvelope, ABlobForAnotherNonceIsRefused) {
  Nonces nonces{{random_nonce()}};
  Bytes other = random_nonce();
  other[0] ^= std::byte{1};
  auto r = id().open_sealed(seal(kValue, kName, other), nonces.policy(kName));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(text(r.error()), "sealed blob: its nonce is not outstanding");
  EXPECT_EQ(nonces.outstanding.size(), 1u);
}

TEST_F(SealedEnvelope, TamperingWithTheHeaderKeyCiphertextOrTagIsRefused) {
  const Bytes nonce = random_nonce();
  const Bytes blob = seal(kValue, kName, nonce);
  const std::size_t header = 4 + 1 + kName.size() + 1 + nonce.size();
  const std::size_t wrapped = header + 2;
  const std::size_t ciphertext = wrapped + 256 + 12 + 4;
  const std::size_t tag = ciphertext + kValue.size();
  ASSERT_EQ(tag + 16 + 1, blob.size());
  Nonces nonces{{nonce}};
  auto refused_with = [&](std::size_t at) {
    Bytes copy = blob;
    copy[at] ^= std::byte{0x01};
    auto r = id().open_sealed(copy, nonces.policy(kName));
    EXPECT_FALSE(r.ok()) << "flip at " << at;
    return r.ok() ? std::string() : text(r.error());
  };
  const std::string altered = "sealed blob: authentication failed (the envelope was altered)";
  EXPECT_EQ(refused_with(header - 1), altered);  // the nonce: additional data
  EXPECT_EQ(refused_with(ciphertext), altered);
  EXPECT_EQ(refused_with(tag + 15), altered);
  EXPECT_EQ(refused_with(wrapped + 100),
            "sealed blob: the key was not sealed to this enclave (RSA-OAEP unwrap failed)");
  EXPECT_EQ(refused_with(tag + 16), "sealed blob: truncated in the signer key id");  // "signed", with no signature
  for (std::size_t i = 0; i < blob.size(); ++i) refused_with(i);
  EXPECT_EQ(nonces.consumed, 0);

  EXPECT_EQ(seal_secret("x", kName, nonce, bytes_of("not a key")).error().message,
            "seal: the attested public key is not an RSA SubjectPublicKeyInfo");
  auto wrong = other_->open_sealed(blob, nonces.policy(kName));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(text(wrong.error()).find("not sealed to this enclave"), std::string::npos);
  // The untouched blob still opens: nothing above used its nonce.
  EXPECT_TRUE(id().open_sealed(blob, nonces.policy(kName)).ok());
}

TEST_F(SealedEnvelope, AnEmptyValueIsRefusedAtSealAndAtOpen) {
  const Bytes nonce = random_nonce();
  auto sealed = seal_secret("", kName, nonce, id().public_key_der());
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.error().message, "seal: the value is empty");

  Nonces nonces{{nonce}};
  // The crafter makes what seal_secret would: its non-empty envelope opens (so the empty one below is well formed).
  auto fine = id().open_sealed(notify::testing::craft_envelope({"ENS2", kName, nonce, "v"}, id().public_key_der()),
                               nonces.policy(kName));
  ASSERT_TRUE(fine.ok()) << fine.error().message;
  EXPECT_EQ(fine->value.reveal(), "v");
  nonces.outstanding.push_back(nonce);
  auto empty = id().open_sealed(notify::testing::craft_envelope({"ENS2", kName, nonce, ""}, id().public_key_der()),
                                nonces.policy(kName));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(text(empty.error()), "sealed blob: the value is empty");
  EXPECT_EQ(nonces.outstanding.size(), 1u) << "a refused blob must not use up the nonce";
}

TEST_F(SealedEnvelope, Ens1EnvelopesAreNoLongerAccepted) {
  Bytes ens1 = bytes_of("ENS1");
  ens1.resize(300, std::byte{7});
  Nonces nonces;
  auto r = id().open_sealed(ens1, nonces.policy(kName));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(text(r.error()).find("ENS1 envelopes are no longer accepted"), std::string::npos) << text(r.error());
  EXPECT_FALSE(inspect_sealed_secret(ens1).ok());
  auto junk = inspect_sealed_secret(bytes_of("garbage"));
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().message, "sealed blob: not an ENS2 envelope");
}

TEST_F(SealedEnvelope, TruncationAtEveryLengthAndTrailingBytesAreRefusedCleanly) {
  auto signer = p256();
  const Bytes nonce = random_nonce();
  for (EVP_PKEY* key : {static_cast<EVP_PKEY*>(nullptr), signer.get()}) {
    const Bytes blob = seal(kValue, kName, nonce, key);
    Nonces nonces{{nonce}};
    for (std::size_t n = 0; n < blob.size(); ++n) {
      const std::span<const std::byte> prefix(blob.data(), n);
      auto r = id().open_sealed(prefix, nonces.policy(kName));
      ASSERT_FALSE(r.ok()) << "prefix of " << n;
      EXPECT_EQ(r.error().code, Errc::refused);
      EXPECT_EQ(r.error().message.rfind("sealed blob: ", 0), 0u) << r.error().message;
      EXPECT_FALSE(inspect_sealed_secret(prefix).ok()) << "prefix of " << n;
    }
    Bytes longer = blob;
    longer.push_back(std::byte{0});
    auto trailing = id().open_sealed(longer, nonces.policy(kName));
    ASSERT_FALSE(trailing.ok());
    EXPECT_EQ(text(trailing.error()), "sealed blob: 1 trailing bytes after the envelope");
    EXPECT_EQ(nonces.consumed, 0);
  }
  Bytes huge = bytes_of("ENS2");
  huge.resize(kMaxEnvelopeBytes + 1);
  auto r = inspect_sealed_secret(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("at most"), std::string::npos);
  // Declared lengths bigger than what is present are caught before anything is read past the end.
  auto lying = notify::testing::craft_envelope({"ENS2", kName, nonce, "v"}, id().public_key_der());
  const std::size_t ct_len_at = 4 + 1 + kName.size() + 1 + nonce.size() + 2 + 256 + 12;
  lying[ct_len_at] = std::byte{0x7f};
  auto big = inspect_sealed_secret(lying);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("ciphertext of"), std::string::npos) << big.error().message;
}

TEST_F(SealedEnvelope, SignaturesByListedEcdsaP256AndEd25519KeysAreAccepted) {
  auto ecdsa = p256();
  auto edwards = ed25519();
  const std::vector<Provisioner> provisioners{listed("ops-ecdsa", ecdsa.get()), listed("ops-ed25519", edwards.get())};
  EXPECT_EQ(provisioners[0].algorithm, SignatureAlgorithm::ecdsa_p256_sha256);
  EXPECT_EQ(provisioners[1].algorithm, SignatureAlgorithm::ed25519);
  for (const auto& [key, who] : {std::pair{ecdsa.get(), "ops-ecdsa"}, std::pair{edwards.get(), "ops-ed25519"}}) {
    const Bytes nonce = random_nonce();
    const Bytes blob = seal(kValue, kName, nonce, key);
    auto header = inspect_sealed_secret(blob);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->signer_key_id, key_id_of(key).value());
    Nonces nonces{{nonce}};
    auto opened = id().open_sealed(blob, nonces.policy(kName, provisioners));
    ASSERT_TRUE(opened.ok()) << who << ": " << opened.error().message;
    EXPECT_EQ(opened->value.reveal(), kValue);
    EXPECT_EQ(opened->signer, who);
  }
}

TEST_F(SealedEnvelope, UnsignedUnlistedOrBadlySignedBlobsAreRefusedWhenProvisionersAreSet) {
  auto ops1 = p256();
  auto ops2 = ed25519();
  auto stranger = p256();
  const std::vector<Provisioner> provisioners{listed("ops-1", ops1.get()), listed("ops-2", ops2.get())};
  const Bytes nonce = random_nonce();
  Nonces nonces{{nonce}};

  auto unsigned_blob = id().open_sealed(seal(kValue, kName, nonce), nonces.policy(kName, provisioners));
  ASSERT_FALSE(unsigned_blob.ok());
  EXPECT_EQ(text(unsigned_blob.error()),
            "sealed blob: unsigned blob, but secrets.provisioners requires a signature by one of: ops-1, ops-2");

  auto unlisted = id().open_sealed(seal(kValue, kName, nonce, stranger.get()), nonces.policy(kName, provisioners));
  ASSERT_FALSE(unlisted.ok());
  EXPECT_EQ(text(unlisted.error()), "sealed blob: signed by an unknown key (key id " +
                                        to_hex(key_id_of(stranger.get()).value()) +
                                        "), not one of secrets.provisioners: ops-1, ops-2");

  for (EVP_PKEY* key : {ops1.get(), ops2.get()}) {
    Bytes bad = seal(kValue, kName, nonce, key);
    bad.back() ^= std::byte{0x01};  // the signature's last byte
    auto r = id().open_sealed(bad, nonces.policy(kName, provisioners));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(text(r.error()).find("' does not verify"), std::string::npos) << text(r.error());
    // An altered ciphertext under a valid-looking signature fails the signature first, before any decryption.
    Bytes altered = seal(kValue, kName, nonce, key);
    altered[4 + 1 + kName.size() + 1 + nonce.size() + 2 + 256 + 12 + 4] ^= std::byte{0x01};
    auto a = id().open_sealed(altered, nonces.policy(kName, provisioners));
    ASSERT_FALSE(a.ok());
    EXPECT_NE(text(a.error()).find("' does not verify"), std::string::npos) << text(a.error());
  }
  EXPECT_EQ(nonces.consumed, 0);
  // Without provisioners the same unsigned blob is accepted (there is nothing to check a signature against).
  EXPECT_TRUE(id().open_sealed(seal(kValue, kName, nonce), nonces.policy(kName)).ok());
}

TEST(Provisioners, OnlyEcdsaP256AndEd25519PublicKeysAreAccepted) {
  PkeyPtr rsa(EVP_RSA_gen(2048));
  PkeyPtr p384(EVP_EC_gen("P-384"));
  auto r = provisioner_from_pem("ops", public_pem(rsa.get()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "an RSA key; provisioner keys must be ECDSA P-256 or Ed25519");
  auto e = provisioner_from_pem("ops", public_pem(p384.get()));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "an EC key on secp384r1; provisioner keys must be ECDSA P-256 or Ed25519");
  auto junk = provisioner_from_pem("ops", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().message, "not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  // A sealer cannot sign with an unsuitable key either.
  auto sealed = seal_secret("v", "n", random_nonce(), Bytes{}, p384.get());
  ASSERT_FALSE(sealed.ok());
  EXPECT_NE(sealed.error().message.find("an EC key on secp384r1"), std::string::npos);
  EXPECT_FALSE(signing_key_from_pem(public_pem(p256().get())).ok());
}

TEST(ProvisioningNonces, EachNonceIsFreshAndUsableOnce) {
  ProvisioningNonces nonces;
  auto a = nonces.issue();
  auto b = nonces.issue();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), ProvisioningNonces::kNonceBytes);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(nonces.outstanding(), 2u);
  EXPECT_TRUE(nonces.consume(*a).ok());
  auto again = nonces.consume(*a);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), Errc::refused);
  EXPECT_EQ(again.message(), "its nonce was already used: a replayed blob");
  auto unknown = nonces.consume(random_nonce());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("not issued by this enclave instance"), std::string::npos);
  nonces.withdraw(*b);
  EXPECT_EQ(nonces.outstanding(), 0u);
  EXPECT_FALSE(nonces.consume(*b).ok());
}

TEST(ProvisioningNonces, NoncesExpireAfterTheirLifetime) {
  auto now = std::chrono::steady_clock::time_point{} + 10h;
  ProvisioningNonces nonces({16, 1h, [&] { return now; }});
  auto old = nonces.issue();
  now += 59min;
  auto young = nonces.issue();
  now += 1min;  // `old` is now exactly an hour old
  auto expired = nonces.consume(*old);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.message(), "its nonce expired: the attestation is older than 1h; attest again and seal anew");
  EXPECT_EQ(nonces.outstanding(), 1u);
  EXPECT_TRUE(nonces.consume(*young).ok());
}

TEST(ProvisioningNonces, AtMostSixteenAreOutstandingAndTheOldestIsEvicted) {
  ProvisioningNonces nonces;
  std::vector<Bytes> issued;
  for (int i = 0; i < 20; ++i) issued.push_back(nonces.issue().value());
  EXPECT_EQ(nonces.outstanding(), 16u);
  for (int i = 0; i < 4; ++i) {
    auto r = nonces.consume(issued[static_cast<std::size_t>(i)]);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("its nonce was evicted: more than 16 provisioning attestations"), std::string::npos)
        << r.message();
  }
  for (int i = 4; i < 20; ++i) EXPECT_TRUE(nonces.consume(issued[static_cast<std::size_t>(i)]).ok()) << i;
  EXPECT_EQ(nonces.outstanding(), 0u);
}

TEST_F(SealedEnvelope, TheEnclaveBindsItsOwnNonceAndABlobOpensOnceAndOnlyForItsName) {
  notify::testing::CapturingLog log;
  SealedProvisioning enclave(id(), {}, log);
  VerifyOptions o;
  o.allow_development = true;
  auto doc = enclave.attest_for_provisioning();
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  auto verdict = verify_attestation(*doc, o);
  ASSERT_TRUE(verdict.ok()) << verdict.error().message;
  ASSERT_TRUE(verdict->document.nonce);
  EXPECT_EQ(verdict->document.nonce->size(), ProvisioningNonces::kNonceBytes);
  EXPECT_EQ(enclave.outstanding_nonces(), 1u);
  auto second = verify_attestation(enclave.attest_for_provisioning().value(), o);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*second->document.nonce, *verdict->document.nonce);

  const Bytes blob = seal(kValue, kName, *verdict->document.nonce);
  auto renamed = enclave.open("braze.other", blob);
  ASSERT_FALSE(renamed.ok());
  EXPECT_NE(renamed.error().message.find("not 'braze.other'"), std::string::npos);
  auto opened = enclave.open(kName, blob);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->reveal(), kValue);
  EXPECT_EQ(enclave.outstanding_nonces(), 1u);
  auto replay = enclave.open(kName, blob);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().message, "sealed blob: its nonce was already used: a replayed blob");

  // A verifier's nonce is the caller's, and bounded.
  auto mine = enclave.attest_for_verification(bytes_of("verifier-nonce"));
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(*verify_attestation(*mine, o)->document.nonce, bytes_of("verifier-nonce"));
  auto big = enclave.attest_for_verification(Bytes(65));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message, "attest: a nonce of 65 bytes; at most 64");
  EXPECT_EQ(log.all().find(kValue), std::string::npos);
}

TEST_F(SealedEnvelope, TheEnclaveNamesTheProvisionerWhoseSignatureItVerified) {
  notify::testing::CapturingLog log;
  auto key = ed25519();
  SealedProvisioning enclave(id(), {listed("ops-1", key.get())}, log);
  VerifyOptions o;
  o.allow_development = true;
  auto verdict = verify_attestation(enclave.attest_for_provisioning().value(), o);
  ASSERT_TRUE(verdict.ok());
  auto opened = enclave.open(kName, seal(kValue, kName, *verdict->document.nonce, key.get()));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_TRUE(log.contains("sealed blob for 'braze.api_key' is signed by provisioner 'ops-1'")) << log.all();
}
