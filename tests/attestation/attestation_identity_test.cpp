// The enclave side of attestation: development attester round trip, sealing, and the NSM message codecs.
#include "attestation/cbor_item.hpp"
#include "attestation/sealing.hpp"
#include "attestation/verifier.hpp"
#include "capturing_log.hpp"
#include "enclave/identity/enclave_identity.hpp"
#include "enclave/identity/entropy.hpp"
#include "enclave/identity/nsm_device.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>

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
  auto sealed = seal_secret(secret, "braze.api_key", nonce, *verdict->document.public_key);
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sealed->data()), sealed->size()).find(secret), std::string::npos);
  OpenPolicy policy;
  policy.expected_name = "braze.api_key";
  policy.consume_nonce = [&](std::span<const std::byte> n) {
    return std::equal(n.begin(), n.end(), nonce.begin(), nonce.end()) ? Status{} : Status{Errc::refused, "other nonce"};
  };
  auto opened = id.value()->open_sealed(*sealed, policy);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->value.reveal(), secret);
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

// Sealing itself (tampering, truncation, the wrong enclave, names, nonces, signatures): sealed_provisioning_test.cpp.

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
  const Bytes ok = {std::byte{0xA1}, std::byte{0x6B}, std::byte{'A'},  std::byte{'t'}, std::byte{'t'}, std::byte{'e'},
                    std::byte{'s'},  std::byte{'t'},  std::byte{'a'},  std::byte{'t'}, std::byte{'i'}, std::byte{'o'},
                    std::byte{'n'},  std::byte{0xA1}, std::byte{0x68}, std::byte{'d'}, std::byte{'o'}, std::byte{'c'},
                    std::byte{'u'},  std::byte{'m'},  std::byte{'e'},  std::byte{'n'}, std::byte{'t'}, std::byte{0x42},
                    std::byte{1},    std::byte{2}};
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
                      }())
                          .get()),
            "GetRandom");
}

TEST(Nsm, DeviceAbsentOutsideAnEnclaveIsAClearError) {
  auto dev = NsmDevice::open("/dev/nsm-does-not-exist");
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.error().code, Errc::unsupported);
  EXPECT_NE(dev.error().message.find("not inside a Nitro enclave"), std::string::npos);
}

TEST(Nsm, EnclaveIdentityInNsmModeFailsCleanlyOutsideAnEnclave) {
  if (std::filesystem::exists("/dev/nsm")) GTEST_SKIP() << "/dev/nsm exists: this host is a Nitro enclave";
  notify::testing::CapturingLog log;
  auto id = EnclaveIdentity::create(AttesterMode::nsm, log);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, Errc::unsupported);
  EXPECT_EQ(id.error().message, "no /dev/nsm: not inside a Nitro enclave");
}

TEST(Nsm, GetRandomResponseDecoding) {
  // {"GetRandom": {"random": h'0a0b0c'}}
  CborItem inner(cbor_new_definite_map(1));
  const unsigned char random[] = {0x0a, 0x0b, 0x0c};
  cbor_map_add(inner.get(), {cbor_move(cbor_build_string("random")), cbor_move(cbor_build_bytestring(random, 3))});
  CborItem outer(cbor_new_definite_map(1));
  cbor_map_add(outer.get(), {cbor_move(cbor_build_string("GetRandom")), inner.get()});
  auto r = decode_nsm_get_random_response(cbor_encode(outer.get()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (Bytes{std::byte{0x0a}, std::byte{0x0b}, std::byte{0x0c}}));
  // The attestation variant is not a GetRandom answer.
  CborItem wrong(cbor_new_definite_map(1));
  cbor_map_add(wrong.get(), {cbor_move(cbor_build_string("Attestation")), inner.get()});
  auto w = decode_nsm_get_random_response(cbor_encode(wrong.get()));
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("no GetRandom"), std::string::npos) << w.error().message;
}

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const noexcept { X509_free(c); }
};
struct MdFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

Bytes der_bytes(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  const std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(der, [](unsigned char* p) { OPENSSL_free(p); });
  Bytes out(static_cast<std::size_t>(len > 0 ? len : 0));
  if (len > 0) std::memcpy(out.data(), der, out.size());
  return out;
}

cbor_item_t* bstr(std::span<const std::byte> b) {
  static const unsigned char kNothing = 0;
  return cbor_build_bytestring(b.empty() ? &kNothing : reinterpret_cast<const unsigned char*>(b.data()), b.size());
}

// A COSE_Sign1 of the Nitro shape whose (self-signed) leaf key is on P-256: ECDSA with SHA-384 verifies
// mathematically, but it is not ES384, and a Nitro document never looks like this.
Bytes p256_signed_document() {
  std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, CertFree> cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("p256 leaf"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  const Bytes cert_der = der_bytes(cert.get());

  CborItem payload(cbor_new_definite_map(6));
  auto add = [&](const char* k, cbor_item_t* v) {
    cbor_map_add(payload.get(), {cbor_move(cbor_build_string(k)), cbor_move(v)});
  };
  add("module_id", cbor_build_string("p256"));
  add("digest", cbor_build_string("SHA384"));
  add("timestamp", cbor_build_uint64(1));
  cbor_item_t* pcrs = cbor_new_definite_map(1);
  cbor_map_add(pcrs, {cbor_move(cbor_build_uint8(0)), cbor_move(bstr(Bytes(48, std::byte{7})))});
  add("pcrs", pcrs);
  add("certificate", bstr(cert_der));
  cbor_item_t* bundle = cbor_new_definite_array(1);
  cbor_array_push(bundle, cbor_move(bstr(cert_der)));
  add("cabundle", bundle);

  CoseSign1 cose;
  CborItem header(cbor_new_definite_map(1));
  cbor_map_add(header.get(), {cbor_move(cbor_build_uint8(1)), cbor_move(cbor_build_negint8(34))});
  cose.protected_header = cbor_encode(header.get());
  cose.payload = cbor_encode(payload.get());
  const Bytes tbs = sig_structure(cose);
  std::unique_ptr<EVP_MD_CTX, MdFree> md(EVP_MD_CTX_new());
  std::vector<unsigned char> der(128);
  std::size_t der_len = der.size();
  EXPECT_EQ(EVP_DigestSignInit(md.get(), nullptr, EVP_sha384(), nullptr, key.get()), 1);
  EXPECT_EQ(
      EVP_DigestSign(md.get(), der.data(), &der_len, reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size()),
      1);
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  Bytes raw(96);  // r and s padded to ES384's 48 bytes each, as a forger would
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()), 48);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(raw.data()) + 48, 48);

  CborItem envelope(cbor_new_definite_array(4));
  cbor_array_push(envelope.get(), cbor_move(bstr(cose.protected_header)));
  cbor_array_push(envelope.get(), cbor_move(cbor_new_definite_map(0)));
  cbor_array_push(envelope.get(), cbor_move(bstr(cose.payload)));
  cbor_array_push(envelope.get(), cbor_move(bstr(raw)));
  return cbor_encode(envelope.get());
}

}  // namespace

TEST(NitroAttestation, Es384RequiresAP384LeafKey) {
  auto r = verify_attestation(p256_signed_document(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("signature:", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find("not P-384"), std::string::npos) << r.error().message;
}

// NSM entropy seeding (enclave/identity/entropy): absent or non-NSM devices fall back to the OS RNG and say so.
TEST(Entropy, SaysWhenTheNsmDeviceIsAbsent) {
  notify::testing::CapturingLog log;
  EXPECT_FALSE(notify::seed_rng_from_nsm_if_present(log, "/nonexistent/nsm"));
  EXPECT_TRUE(log.contains("entropy: /nonexistent/nsm absent, using OS RNG")) << log.all();
}

TEST(Entropy, APresentButNonNsmDeviceFallsBackAndSaysWhy) {
  notify::testing::CapturingLog log;
  EXPECT_FALSE(notify::seed_rng_from_nsm_if_present(log, "/dev/null"));  // exists, but the NSM ioctl fails on it
  EXPECT_TRUE(log.contains("using OS RNG")) << log.all();
  EXPECT_FALSE(log.contains("seeded from")) << log.all();
}
