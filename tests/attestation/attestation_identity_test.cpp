// The enclave side of attestation: development attester round trip, sealing, and the NSM message codecs.
#include "attestation/cbor_item.hpp"
#include "attestation/enclave_identity.hpp"
#include "attestation/nsm_device.hpp"
#include "attestation/sealing.hpp"
#include "attestation/verifier.hpp"
#include "capturing_log.hpp"

#include <gtest/gtest.h>

using namespace notify;
using namespace notify::attestation;

namespace {
Bytes bytes_of(std::string_view s) {
  Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}
}  // namespace

TEST(DevelopmentAttestation, RoundTripAttestVerifySealOpen) {
  notify::testing::CapturingLog log;
  auto id = EnclaveIdentity::create(AttesterMode::development, log);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_TRUE(log.contains("development attestation"));
  const Bytes nonce = bytes_of("fresh-nonce-0123456789");
  auto doc = id.value()->attest(nonce);
  ASSERT_TRUE(doc.ok()) << doc.error().message;

  VerifyOptions o;
  o.allow_development = true;
  o.expected_nonce = nonce;
  auto verdict = verify_attestation(*doc, o);
  ASSERT_TRUE(verdict.ok()) << verdict.error().message;
  EXPECT_TRUE(verdict->development);
  EXPECT_NE(verdict->root_subject.find("DEVELOPMENT"), std::string::npos);
  ASSERT_TRUE(verdict->document.public_key);
  EXPECT_EQ(*verdict->document.public_key, id.value()->public_key_der());

  const std::string secret = "braze-REST-key-0f1e2d3c4b5a6978";
  auto sealed = seal_secret(secret, *verdict->document.public_key);
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sealed->data()), sealed->size()).find(secret), std::string::npos);
  auto opened = id.value()->open_sealed(*sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->reveal(), secret);
}

TEST(DevelopmentAttestation, RefusedUnlessExplicitlyAllowed) {
  notify::testing::CapturingLog log;
  auto id = EnclaveIdentity::create(AttesterMode::development, log);
  ASSERT_TRUE(id.ok());
  auto doc = id.value()->attest({});
  ASSERT_TRUE(doc.ok());
  auto r = verify_attestation(*doc, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("development:", 0), 0u) << r.error().message;
}

TEST(DevelopmentAttestation, AlteredDocumentFailsTheSignature) {
  notify::testing::CapturingLog log;
  auto id = EnclaveIdentity::create(AttesterMode::development, log);
  auto doc = id.value()->attest(bytes_of("n"));
  ASSERT_TRUE(doc.ok());
  auto copy = *doc;
  copy[copy.size() / 2] ^= std::byte{0x01};
  VerifyOptions o;
  o.allow_development = true;
  auto r = verify_attestation(copy, o);
  ASSERT_FALSE(r.ok());
}

TEST(Sealing, TamperingAnywhereOrTheWrongEnclaveFails) {
  notify::testing::CapturingLog log;
  auto a = EnclaveIdentity::create(AttesterMode::development, log);
  auto b = EnclaveIdentity::create(AttesterMode::development, log);
  auto sealed = seal_secret("top-secret-value", a.value()->public_key_der());
  ASSERT_TRUE(sealed.ok());
  auto wrong = b.value()->open_sealed(*sealed);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("not sealed to this enclave"), std::string::npos) << wrong.error().message;
  for (std::size_t i = 0; i < sealed->size(); i += 13) {
    auto copy = *sealed;
    copy[i] ^= std::byte{0x40};
    EXPECT_FALSE(a.value()->open_sealed(copy).ok()) << "flip at " << i;
  }
  auto truncated = *sealed;
  truncated.pop_back();
  EXPECT_FALSE(a.value()->open_sealed(truncated).ok());
  EXPECT_FALSE(a.value()->open_sealed({}).ok());
  EXPECT_FALSE(seal_secret("x", bytes_of("not a key")).ok());
}

TEST(Nsm, RequestEncodingAndResponseDecoding) {
  const Bytes pk = bytes_of("public-key"), nonce = bytes_of("nonce");
  auto req = encode_nsm_attestation_request(pk, nonce, std::nullopt);
  cbor_load_result r{};
  CborItem item(cbor_load(reinterpret_cast<const unsigned char*>(req.data()), req.size(), &r));
  ASSERT_TRUE(item);
  auto* att = cbor_map_find(item.get(), "Attestation");
  ASSERT_NE(att, nullptr);
  EXPECT_EQ(cbor_bytes(cbor_map_find(att, "public_key")), pk);
  EXPECT_EQ(cbor_bytes(cbor_map_find(att, "nonce")), nonce);
  EXPECT_TRUE(cbor_is_null_item(cbor_map_find(att, "user_data")));

  // {"Attestation": {"document": h'0102'}}
  const Bytes ok = {std::byte{0xA1}, std::byte{0x6B}, std::byte{'A'}, std::byte{'t'}, std::byte{'t'}, std::byte{'e'},
                    std::byte{'s'}, std::byte{'t'}, std::byte{'a'}, std::byte{'t'}, std::byte{'i'}, std::byte{'o'},
                    std::byte{'n'}, std::byte{0xA1}, std::byte{0x68}, std::byte{'d'}, std::byte{'o'}, std::byte{'c'},
                    std::byte{'u'}, std::byte{'m'}, std::byte{'e'}, std::byte{'n'}, std::byte{'t'}, std::byte{0x42},
                    std::byte{1}, std::byte{2}};
  auto doc = decode_nsm_attestation_response(ok);
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(*doc, (Bytes{std::byte{1}, std::byte{2}}));
  // {"Error": "InvalidArgument"}
  CborItem err(cbor_new_definite_map(1));
  cbor_map_add(err.get(), {cbor_move(cbor_build_string("Error")), cbor_move(cbor_build_string("InvalidArgument"))});
  auto e = decode_nsm_attestation_response(cbor_encode(err.get()));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("InvalidArgument"), std::string::npos);
  EXPECT_FALSE(decode_nsm_get_random_response(bytes_of("garbage")).ok());
  EXPECT_EQ(cbor_text(CborItem([&] {
              auto g = encode_nsm_get_random_request();
              cbor_load_result lr{};
              return cbor_load(reinterpret_cast<const unsigned char*>(g.data()), g.size(), &lr);
            }()).get()),
            "GetRandom");
}

TEST(Nsm, DeviceAbsentOutsideAnEnclaveIsAClearError) {
  auto dev = NsmDevice::open("/dev/nsm-does-not-exist");
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.error().code, Errc::unsupported);
  EXPECT_NE(dev.error().message.find("not inside a Nitro enclave"), std::string::npos);
}
