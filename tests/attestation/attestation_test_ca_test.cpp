// A Nitro-shaped document with an indefinite-length payload, as current NSMs may emit, signed under a test CA
// (root → intermediate → leaf, all P-384): it verifies against that CA given as the trusted root, and against
// nothing else. The signature covers the payload bytes as received, so re-encoding them breaks it.
#include "attestation/cbor_item.hpp"
#include "attestation/verifier.hpp"
#include "enclave/identity/development_attester.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

using namespace notify;
using namespace notify::attestation;

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const noexcept { X509_free(c); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* e) const noexcept { X509_EXTENSION_free(e); }
};
struct MdFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

Bytes der_of(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  const std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(der, [](unsigned char* p) { OPENSSL_free(p); });
  Bytes out(static_cast<std::size_t>(len > 0 ? len : 0));
  if (len > 0) std::memcpy(out.data(), der, out.size());
  return out;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  ASSERT_TRUE(ext) << "extension " << nid;
  ASSERT_EQ(X509_add_ext(cert, ext.get(), -1), 1);
}

// A certificate valid from an hour ago to a day ahead; self-signed when `issuer` is null.
Cert make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca, long serial) {
  Cert c(X509_new());
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 24L * 3600);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Test Lab"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer != nullptr ? issuer : c.get();
  add_extension(c.get(), signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_extension(c.get(), signer, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  EXPECT_GT(X509_sign(c.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha384()), 0);
  return c;
}

struct TestCa {
  explicit TestCa(const std::string& root_name = "test nitro root") : root_name_(root_name) {}
  std::string root_name_;
  Key root_key{EVP_EC_gen("P-384")};
  Key intermediate_key{EVP_EC_gen("P-384")};
  Key leaf_key{EVP_EC_gen("P-384")};
  Cert root = make_cert(root_key.get(), root_name_.c_str(), nullptr, nullptr, true, 1);
  Cert intermediate = make_cert(intermediate_key.get(), "test nitro intermediate", root.get(), root_key.get(), true, 2);
  Cert leaf =
      make_cert(leaf_key.get(), "i-0123456789abcdef0.test", intermediate.get(), intermediate_key.get(), false, 3);
};

Bytes filled(std::size_t n, unsigned value) { return Bytes(n, static_cast<std::byte>(value)); }

const unsigned char* data_of(std::span<const std::byte> b) {
  static const unsigned char kNothing = 0;  // libcbor copies from the pointer even for length 0
  return b.empty() ? &kNothing : reinterpret_cast<const unsigned char*>(b.data());
}

// A byte string: definite when `chunks` is 0, else indefinite-length in that many chunks.
cbor_item_t* bstr(std::span<const std::byte> b, std::size_t chunks) {
  if (chunks == 0) return cbor_build_bytestring(data_of(b), b.size());
  cbor_item_t* s = cbor_new_indefinite_bytestring();
  const std::size_t step = (b.size() + chunks - 1) / chunks;
  for (std::size_t at = 0; at < b.size(); at += step) {
    const auto piece = b.subspan(at, std::min(step, b.size() - at));
    EXPECT_TRUE(cbor_bytestring_add_chunk(s, cbor_move(cbor_build_bytestring(data_of(piece), piece.size()))));
  }
  return s;
}

// A text string: definite, or indefinite-length in the given pieces.
cbor_item_t* tstr(std::initializer_list<const char*> pieces, bool indefinite) {
  std::string whole;
  for (const char* p : pieces) whole += p;
  if (!indefinite) return cbor_build_string(whole.c_str());
  cbor_item_t* s = cbor_new_indefinite_string();
  for (const char* p : pieces) EXPECT_TRUE(cbor_string_add_chunk(s, cbor_move(cbor_build_string(p))));
  return s;
}

const Bytes kPublicKey = filled(300, 0x5A);
const Bytes kNonce = filled(20, 0x4E);
const std::uint32_t kPcrIndexes[] = {0, 1, 2, 3, 4, 8};
Bytes pcr_value(std::uint32_t index) { return filled(48, 0xA0 + index); }

// The payload map. Indefinite: the map itself, pcrs and cabundle are indefinite-length; module_id, certificate,
// public_key, the intermediate's DER and PCR0 are chunked. Definite: the same content, definite throughout.
Bytes payload_of(const TestCa& ca, bool indefinite, std::uint64_t timestamp_ms) {
  const std::size_t chunks = indefinite ? 3 : 0;
  CborItem map(indefinite ? cbor_new_indefinite_map() : cbor_new_definite_map(9));
  auto add = [&](const char* key, cbor_item_t* value) {
    ASSERT_TRUE(cbor_map_add(map.get(), {cbor_move(cbor_build_string(key)), cbor_move(value)}));
  };
  add("module_id", tstr({"i-0123456789abcdef0", "-enc", "0123456789abcdef"}, indefinite));
  add("digest", cbor_build_string("SHA384"));
  add("timestamp", cbor_build_uint64(timestamp_ms));
  cbor_item_t* pcrs = indefinite ? cbor_new_indefinite_map() : cbor_new_definite_map(std::size(kPcrIndexes));
  for (std::uint32_t i : kPcrIndexes) {
    EXPECT_TRUE(cbor_map_add(pcrs, {cbor_move(cbor_build_uint8(static_cast<std::uint8_t>(i))),
                                    cbor_move(bstr(pcr_value(i), i == 0 ? chunks : 0))}));
  }
  add("pcrs", pcrs);
  add("certificate", bstr(der_of(ca.leaf.get()), chunks));
  cbor_item_t* bundle = indefinite ? cbor_new_indefinite_array() : cbor_new_definite_array(2);
  EXPECT_TRUE(cbor_array_push(bundle, cbor_move(bstr(der_of(ca.root.get()), 0))));
  EXPECT_TRUE(cbor_array_push(bundle, cbor_move(bstr(der_of(ca.intermediate.get()), chunks))));
  add("cabundle", bundle);
  add("public_key", bstr(kPublicKey, chunks));
  add("user_data", cbor_new_null());
  add("nonce", bstr(kNonce, 0));
  return cbor_encode(map.get());
}

Bytes protected_header() {
  CborItem header(cbor_new_definite_map(1));
  EXPECT_TRUE(cbor_map_add(header.get(), {cbor_move(cbor_build_uint8(1)), cbor_move(cbor_build_negint8(34))}));
  return cbor_encode(header.get());  // {1: -35}: ES384
}

// ES384 over the COSE Sig_structure of these exact payload bytes, as raw r||s.
Bytes sign(EVP_PKEY* key, const Bytes& payload) {
  CoseSign1 cose;
  cose.protected_header = protected_header();
  cose.payload = payload;
  const Bytes tbs = sig_structure(cose);
  std::unique_ptr<EVP_MD_CTX, MdFree> md(EVP_MD_CTX_new());
  std::vector<unsigned char> der(160);
  std::size_t der_len = der.size();
  EXPECT_EQ(EVP_DigestSignInit(md.get(), nullptr, EVP_sha384(), nullptr, key), 1);
  EXPECT_EQ(
      EVP_DigestSign(md.get(), der.data(), &der_len, reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size()),
      1);
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  Bytes raw(96);
  if (!sig) {
    ADD_FAILURE() << "cannot decode the signature";
    return raw;
  }
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()), 48);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(raw.data()) + 48, 48);
  return raw;
}

// The COSE_Sign1 array; an indefinite envelope is itself indefinite-length, with the payload in chunks.
Bytes envelope(const Bytes& payload, const Bytes& signature, bool indefinite) {
  CborItem cose(indefinite ? cbor_new_indefinite_array() : cbor_new_definite_array(4));
  EXPECT_TRUE(cbor_array_push(cose.get(), cbor_move(bstr(protected_header(), 0))));
  EXPECT_TRUE(cbor_array_push(cose.get(), cbor_move(cbor_new_definite_map(0))));
  EXPECT_TRUE(cbor_array_push(cose.get(), cbor_move(bstr(payload, indefinite ? 5 : 0))));
  EXPECT_TRUE(cbor_array_push(cose.get(), cbor_move(bstr(signature, 0))));
  return cbor_encode(cose.get());
}

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

bool contains(const Bytes& haystack, std::initializer_list<unsigned> needle) {
  Bytes n;
  for (unsigned b : needle) n.push_back(static_cast<std::byte>(b));
  return std::search(haystack.begin(), haystack.end(), n.begin(), n.end()) != haystack.end();
}

VerifyOptions trusting(const TestCa& ca) {
  VerifyOptions o;
  o.trusted_root = der_of(ca.root.get());
  return o;
}

void expect_failure(const Result<Verdict>& r, const std::string& check, const std::string& words) {
  ASSERT_FALSE(r.ok()) << "expected the '" << check << "' check to fail";
  EXPECT_EQ(r.error().message.rfind(check + ":", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
}

}  // namespace

TEST(TestCaAttestation, IndefiniteLengthPayloadSignedByATestCaVerifiesAgainstThatCa) {
  const TestCa ca;
  const Bytes payload = payload_of(ca, true, now_ms());
  // The payload really is indefinite-length: a map opened with 0xBF and closed with 0xFF, with indefinite arrays
  // (0x9F), chunked byte strings (0x5F) and a chunked text string (0x7F) inside.
  ASSERT_EQ(payload.front(), std::byte{0xBF});
  ASSERT_EQ(payload.back(), std::byte{0xFF});
  EXPECT_TRUE(contains(payload, {0x64, 'p', 'c', 'r', 's', 0xBF}));
  EXPECT_TRUE(contains(payload, {0x68, 'c', 'a', 'b', 'u', 'n', 'd', 'l', 'e', 0x9F}));
  EXPECT_TRUE(contains(payload, {0x69, 'm', 'o', 'd', 'u', 'l', 'e', '_', 'i', 'd', 0x7F}));
  EXPECT_TRUE(contains(payload, {0x6B, 'c', 'e', 'r', 't', 'i', 'f', 'i', 'c', 'a', 't', 'e', 0x5F}));
  const Bytes document = envelope(payload, sign(ca.leaf_key.get(), payload), false);

  VerifyOptions o = trusting(ca);
  o.expected_nonce = kNonce;
  for (std::uint32_t i : kPcrIndexes) o.expected_pcrs[i] = pcr_value(i);
  auto r = verify_attestation(document, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->debug_mode);
  EXPECT_FALSE(r->development);
  EXPECT_NE(r->root_subject.find("test nitro root"), std::string::npos) << r->root_subject;
  const auto& d = r->document;
  EXPECT_EQ(d.module_id, "i-0123456789abcdef0-enc0123456789abcdef");
  EXPECT_EQ(d.digest, "SHA384");
  EXPECT_EQ(d.pcrs.size(), std::size(kPcrIndexes));
  EXPECT_EQ(d.pcrs.at(0), pcr_value(0));  // chunked
  EXPECT_EQ(d.certificate, der_of(ca.leaf.get()));
  ASSERT_EQ(d.cabundle.size(), 2u);
  EXPECT_EQ(d.cabundle[0], der_of(ca.root.get()));
  EXPECT_EQ(d.cabundle[1], der_of(ca.intermediate.get()));
  EXPECT_EQ(d.public_key, kPublicKey);
  EXPECT_FALSE(d.user_data.has_value());
  EXPECT_EQ(d.nonce, kNonce);
  EXPECT_TRUE(check_provisioning_pcr_policy(o.expected_pcrs).ok());
}

TEST(TestCaAttestation, IndefiniteEnvelopeWithAChunkedPayloadVerifies) {
  const TestCa ca;
  const Bytes payload = payload_of(ca, true, now_ms());
  const Bytes document = envelope(payload, sign(ca.leaf_key.get(), payload), true);
  ASSERT_EQ(document.front(), std::byte{0x9F});
  auto r = verify_attestation(document, trusting(ca));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->document.module_id, "i-0123456789abcdef0-enc0123456789abcdef");
}

TEST(TestCaAttestation, TheSameDocumentFailsAgainstThePinnedAwsRoot) {
  const TestCa ca;
  const Bytes payload = payload_of(ca, true, now_ms());
  const Bytes document = envelope(payload, sign(ca.leaf_key.get(), payload), false);
  expect_failure(verify_attestation(document, {}), "root", "does not end at the AWS Nitro Enclaves root");
}

TEST(TestCaAttestation, AnotherCaIsNotTrusted) {
  const TestCa ca;
  const TestCa other("another lab root");
  const Bytes payload = payload_of(ca, true, now_ms());
  const Bytes document = envelope(payload, sign(ca.leaf_key.get(), payload), false);
  expect_failure(verify_attestation(document, trusting(other)), "root",
                 "does not end at the configured trusted root (/O=Test Lab/CN=another lab root)");
  // A root of the same name but another key is found as the issuer, and its signature check fails.
  const TestCa namesake;
  expect_failure(verify_attestation(document, trusting(namesake)), "chain", "certificate signature failure");
  VerifyOptions garbage;
  garbage.trusted_root = filled(10, 0x30);
  expect_failure(verify_attestation(document, garbage), "root", "not a DER X.509 certificate");
}

TEST(TestCaAttestation, SignatureCoversThePayloadBytesAsReceived) {
  const TestCa ca;
  const auto ts = now_ms();
  const Bytes indefinite = payload_of(ca, true, ts);
  const Bytes definite = payload_of(ca, false, ts);
  ASSERT_NE(indefinite, definite);
  const Bytes signature = sign(ca.leaf_key.get(), indefinite);
  // The same map, re-encoded with definite lengths, is other bytes: the signature over the original fails.
  expect_failure(verify_attestation(envelope(definite, signature, false), trusting(ca)), "signature",
                 "ES384 verification failed");
  // And a definite payload signed as such verifies too: both encodings are read.
  ASSERT_TRUE(verify_attestation(envelope(definite, sign(ca.leaf_key.get(), definite), false), trusting(ca)).ok());
  // A flipped bit inside a chunk is caught.
  Bytes document = envelope(indefinite, signature, false);
  auto at = std::search(document.begin(), document.end(), kPublicKey.begin(), kPublicKey.begin() + 50);
  ASSERT_NE(at, document.end());
  *at ^= std::byte{0x01};
  expect_failure(verify_attestation(document, trusting(ca)), "signature", "ES384 verification failed");
}

TEST(TestCaAttestation, TheTrustedRootReplacesTheAwsRootRatherThanAddingToIt) {
  std::ifstream in(std::string(NOTIFY_ATTESTATION_FIXTURES) + "/blocky_nitro_attestation.cbor", std::ios::binary);
  ASSERT_TRUE(in) << NOTIFY_ATTESTATION_FIXTURES;
  const std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto real = std::as_bytes(std::span(raw));
  VerifyOptions aws;
  aws.at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1725719859545));  // its own timestamp
  ASSERT_TRUE(verify_attestation(real, aws).ok());
  const TestCa ca;
  VerifyOptions lab = trusting(ca);
  lab.at = aws.at;
  expect_failure(verify_attestation(real, lab), "root", "does not end at the configured trusted root");
}

TEST(TestCaAttestation, DevelopmentDocumentsAreRefusedUnlessAllowedWhateverTheTrustedRoot) {
  auto attester = DevelopmentAttester::create();
  ASSERT_TRUE(attester.ok()) << attester.error().message;
  auto doc = attester.value()->attest(kPublicKey, std::nullopt);
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  const TestCa ca;
  expect_failure(verify_attestation(*doc, trusting(ca)), "development", "refused unless");
  VerifyOptions allowed = trusting(ca);
  allowed.allow_development = true;
  auto r = verify_attestation(*doc, allowed);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->development);
}
