// Verification of real Nitro attestation documents: each verifies at its own timestamp, and each kind of damage
// fails with the check it breaks named.
#include "attestation/verifier.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

using namespace notify;
using namespace notify::attestation;

namespace {

const std::string kDir = NOTIFY_ATTESTATION_FIXTURES;

Bytes read_file(const std::string& name) {
  std::ifstream in(kDir + "/" + name, std::ios::binary);
  if (!in) ADD_FAILURE() << "cannot read " << kDir << "/" << name;
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(raw.size());
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

std::chrono::system_clock::time_point timestamp_of(const std::string& file) {
  std::ifstream in(kDir + "/manifest.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto list = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Array::Ptr>();
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto o = list->getObject(static_cast<unsigned>(i));
    if (o->getValue<std::string>("file") == file) {
      return std::chrono::system_clock::time_point(std::chrono::milliseconds(o->getValue<Poco::Int64>("timestamp_ms")));
    }
  }
  ADD_FAILURE() << "no manifest entry for " << file;
  return {};
}

struct Real {
  const char* file;
  bool debug;
};
const Real kReal[] = {{"blocky_nitro_attestation.cbor", false},
                      {"blocky_nitro_attestation_debug.cbor", true},
                      {"evervault_beta_debug_mode.cbor", true},
                      {"evervault_beta_incert_nondebug_2023-01-18.cbor", false},
                      {"evervault_ga_valid.cbor", true}};

Result<Verdict> verify_at_own_time(const std::string& file, VerifyOptions o = {}) {
  o.at = timestamp_of(file);
  return verify_attestation(read_file(file), o);
}

void expect_failure(const Result<Verdict>& r, const std::string& check) {
  ASSERT_FALSE(r.ok()) << "expected the '" << check << "' check to fail";
  EXPECT_EQ(r.error().message.rfind(check + ":", 0), 0u) << r.error().message;
}

}  // namespace

TEST(NitroAttestation, EveryRealDocumentVerifiesAtItsOwnTimestamp) {
  for (const auto& doc : kReal) {
    VerifyOptions o;
    o.allow_debug = doc.debug;
    auto r = verify_at_own_time(doc.file, o);
    ASSERT_TRUE(r.ok()) << doc.file << ": " << r.error().message;
    EXPECT_EQ(r->debug_mode, doc.debug) << doc.file;
    EXPECT_FALSE(r->development);
    EXPECT_FALSE(r->document.module_id.empty());
    EXPECT_EQ(r->document.digest, "SHA384");
    EXPECT_NE(r->root_subject.find("aws.nitro-enclaves"), std::string::npos);
  }
}

TEST(NitroAttestation, DebugModeDocumentsAreRefusedUnlessAllowed) {
  for (const auto& doc : kReal) {
    if (!doc.debug) continue;
    expect_failure(verify_at_own_time(doc.file), "debug");
  }
}

TEST(NitroAttestation, DocumentsFailOutsideTheirLeafValidity) {
  for (const auto& doc : kReal) {
    VerifyOptions o;
    o.allow_debug = true;
    auto r = verify_attestation(read_file(doc.file), o);  // now: long after the 3-hour leaf expired
    expect_failure(r, "chain");
    EXPECT_NE(r.error().message.find("expired"), std::string::npos) << r.error().message;
    o.at = timestamp_of(doc.file) - std::chrono::hours(24);
    auto early = verify_attestation(read_file(doc.file), o);
    expect_failure(early, "chain");
    EXPECT_NE(early.error().message.find("not yet valid"), std::string::npos) << early.error().message;
  }
}

TEST(NitroAttestation, BitFlipsInPcrOrSignatureBreakTheSignature) {
  const auto at = timestamp_of("blocky_nitro_attestation.cbor");
  for (const char* file : {"tampered/blocky_nitro_pcr0_bitflip.cbor", "tampered/blocky_nitro_sig_bitflip.cbor"}) {
    VerifyOptions o;
    o.at = at;
    expect_failure(verify_attestation(read_file(file), o), "signature");
  }
}

TEST(NitroAttestation, EveryPayloadOrSignatureByteFlipIsCaught) {
  const auto original = read_file("blocky_nitro_attestation.cbor");
  VerifyOptions o;
  o.at = timestamp_of("blocky_nitro_attestation.cbor");
  ASSERT_TRUE(verify_attestation(original, o).ok());
  // Flip bytes spread over the whole document; every variant must fail (which check depends on where it lands).
  int failed = 0, tried = 0;
  for (std::size_t i = 0; i < original.size(); i += 97) {
    auto copy = original;
    copy[i] ^= std::byte{0x01};
    ++tried;
    failed += verify_attestation(copy, o).ok() ? 0 : 1;
  }
  EXPECT_EQ(failed, tried);
  // The last 96 bytes are the signature: flipping any of them fails the signature check itself.
  auto copy = original;
  copy[original.size() - 10] ^= std::byte{0x80};
  expect_failure(verify_attestation(copy, o), "signature");
}

TEST(NitroAttestation, SelfSignedDocumentDoesNotReachTheAwsRoot) {
  VerifyOptions o;
  o.at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1725719859545));
  auto r = verify_attestation(read_file("not-aws/blocky_selfsigned_attestation.cbor"), o);
  expect_failure(r, "root");
  EXPECT_NE(r.error().message.find("does not end at the AWS Nitro Enclaves root"), std::string::npos)
      << r.error().message;
}

TEST(NitroAttestation, PcrPolicyMismatchNamesThePcr) {
  auto good = verify_at_own_time("blocky_nitro_attestation.cbor");
  ASSERT_TRUE(good.ok()) << good.error().message;
  VerifyOptions o;
  o.expected_pcrs[0] = good->document.pcrs.at(0);
  o.expected_pcrs[1] = good->document.pcrs.at(1);
  EXPECT_TRUE(verify_at_own_time("blocky_nitro_attestation.cbor", o).ok());
  o.expected_pcrs[2] = Bytes(48, std::byte{0xAB});
  auto r = verify_at_own_time("blocky_nitro_attestation.cbor", o);
  expect_failure(r, "pcr");
  EXPECT_NE(r.error().message.find("PCR2 mismatch"), std::string::npos) << r.error().message;
}

TEST(NitroAttestation, NonceIsChecked) {
  auto good = verify_at_own_time("blocky_nitro_attestation.cbor");
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(good->document.nonce.has_value());
  VerifyOptions o;
  o.expected_nonce = *good->document.nonce;
  EXPECT_TRUE(verify_at_own_time("blocky_nitro_attestation.cbor", o).ok());
  o.expected_nonce = Bytes{std::byte{1}, std::byte{2}};
  expect_failure(verify_at_own_time("blocky_nitro_attestation.cbor", o), "nonce");
  // A document without a nonce cannot satisfy a nonce check.
  VerifyOptions n;
  n.allow_debug = true;
  n.expected_nonce = Bytes{std::byte{1}};
  expect_failure(verify_at_own_time("evervault_beta_debug_mode.cbor", n), "nonce");
}

TEST(NitroAttestation, OptionalFieldsAbsentNullOrPresent) {
  VerifyOptions o;
  o.allow_debug = true;
  auto ev = verify_at_own_time("evervault_beta_debug_mode.cbor", o);
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_FALSE(ev->document.nonce.has_value());  // CBOR null
  ASSERT_TRUE(ev->document.public_key.has_value());
  EXPECT_EQ(ev->document.public_key->size(), 19u);
  auto blocky = verify_at_own_time("blocky_nitro_attestation.cbor");
  ASSERT_TRUE(blocky.ok());
  EXPECT_EQ(blocky->document.public_key->size(), 1024u);
}

TEST(NitroAttestation, GarbageIsAClearDecodeError) {
  const std::string junk = "definitely not cbor";
  auto r = verify_attestation(std::as_bytes(std::span(junk)), {});
  expect_failure(r, "cose");
  auto empty = verify_attestation({}, {});
  expect_failure(empty, "cose");
  auto doc = read_file("blocky_nitro_attestation.cbor");
  doc.resize(doc.size() / 2);  // truncated
  expect_failure(verify_attestation(doc, {}), "cose");
}

TEST(PcrPolicy, ParsesPlainAndNitroCliShapes) {
  auto plain = parse_pcr_policy(R"({"PCR0": "00ff", "PCR8": "AB"})");
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->size(), 2u);
  EXPECT_EQ(plain->at(8), (Bytes{std::byte{0xAB}}));
  auto cli = parse_pcr_policy(
      R"({"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": "01", "PCR1": "02", "PCR2": "03"}})");
  ASSERT_TRUE(cli.ok()) << cli.error().message;
  EXPECT_EQ(cli->size(), 3u);
  EXPECT_FALSE(parse_pcr_policy(R"({"PCR0": "xyz"})").ok());
  EXPECT_FALSE(parse_pcr_policy("[]").ok());
  EXPECT_FALSE(parse_pcr_policy("{}").ok());
}

TEST(NitroAttestation, HostileCborCannotAskForHugeAllocationsOrDeepNesting) {
  // 0x9B + 8-byte length: an array declaring 2^32 elements, then nothing.
  const Bytes huge = {std::byte{0x9B}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1},
                      std::byte{0},    std::byte{0}, std::byte{0}, std::byte{0}};
  auto r = verify_attestation(huge, {});
  expect_failure(r, "cose");
  EXPECT_NE(r.error().message.find("declares 4294967296 elements"), std::string::npos) << r.error().message;
  Bytes deep(200, std::byte{0x81});  // 200 nested one-element arrays
  deep.push_back(std::byte{0x00});
  auto d = verify_attestation(deep, {});
  expect_failure(d, "cose");
  EXPECT_NE(d.error().message.find("nesting deeper"), std::string::npos) << d.error().message;
  // Indefinite-length items are accepted (attestation_cbor_test.cpp), but one never closed is refused.
  const Bytes unclosed = {std::byte{0x9F}, std::byte{0x01}};
  auto i = verify_attestation(unclosed, {});
  expect_failure(i, "cose");
  EXPECT_NE(i.error().message.find("without its break"), std::string::npos) << i.error().message;
}

namespace {

std::map<std::uint32_t, Bytes> policy_of(std::initializer_list<std::uint32_t> indexes) {
  std::map<std::uint32_t, Bytes> out;
  for (auto i : indexes) out[i] = Bytes(48, std::byte{static_cast<unsigned char>(0x10 + i)});
  return out;
}

}  // namespace

TEST(PcrPolicy, ProvisioningNeedsPcr0To2OrPcr8) {
  EXPECT_TRUE(check_provisioning_pcr_policy(policy_of({0, 1, 2})).ok());
  EXPECT_TRUE(check_provisioning_pcr_policy(policy_of({8})).ok());
  EXPECT_TRUE(check_provisioning_pcr_policy(policy_of({0, 1, 2, 3, 4, 8})).ok());
  EXPECT_TRUE(check_provisioning_pcr_policy(policy_of({0, 8})).ok());
}

TEST(PcrPolicy, PartialProvisioningPolicyIsRefusedNamingWhatIsMissing) {
  struct Case {
    std::map<std::uint32_t, Bytes> policy;
    std::vector<std::string> named;      // must appear in the reason
    std::vector<std::string> not_named;  // present, so not called missing
  };
  const Case cases[] = {
      {policy_of({0}), {"PCR1 missing", "PCR2 missing", "PCR8 missing"}, {"PCR0 missing"}},
      {policy_of({0, 1}), {"PCR2 missing", "PCR8 missing"}, {"PCR0 missing", "PCR1 missing"}},
      {policy_of({1, 2}), {"PCR0 missing", "PCR8 missing"}, {"PCR1 missing", "PCR2 missing"}},
      {policy_of({}), {"PCR0 missing", "PCR1 missing", "PCR2 missing", "PCR8 missing"}, {}},
      {policy_of({3, 4}), {"PCR0 missing", "PCR1 missing", "PCR2 missing", "PCR8 missing"}, {}},
  };
  for (const auto& c : cases) {
    auto st = check_provisioning_pcr_policy(c.policy);
    ASSERT_FALSE(st.ok()) << "a policy of " << c.policy.size() << " PCRs was accepted";
    EXPECT_EQ(st.code(), Errc::invalid_argument);
    EXPECT_NE(st.message().find("would accept another image"), std::string::npos) << st.message();
    for (const auto& n : c.named) EXPECT_NE(st.message().find(n), std::string::npos) << n << " in: " << st.message();
    for (const auto& n : c.not_named) {
      EXPECT_EQ(st.message().find(n), std::string::npos) << n << " in: " << st.message();
    }
  }
}

TEST(PcrPolicy, EmptyOrAllZeroValuesPinNothing) {
  auto empty = policy_of({0, 1, 2});
  empty[1].clear();
  auto st = check_provisioning_pcr_policy(empty);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("PCR1 empty"), std::string::npos) << st.message();
  // Every debug-mode enclave reports zeros: such a "policy" accepts any image run in debug mode.
  auto zeros = policy_of({0, 1, 2});
  zeros[2] = Bytes(48, std::byte{0});
  auto z = check_provisioning_pcr_policy(zeros);
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.message().find("PCR2 all zeros"), std::string::npos) << z.message();
  std::map<std::uint32_t, Bytes> zero8{{8, Bytes(48, std::byte{0})}};
  auto z8 = check_provisioning_pcr_policy(zero8);
  ASSERT_FALSE(z8.ok());
  EXPECT_NE(z8.message().find("PCR8 all zeros"), std::string::npos) << z8.message();
}

TEST(PcrPolicy, NitroCliMeasurementsMakeAProvisioningPolicy) {
  const std::string hex48(96, 'a');
  auto cli = parse_pcr_policy(R"({"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": ")" + hex48 +
                              R"(", "PCR1": ")" + hex48 + R"(", "PCR2": ")" + hex48 + R"("}})");
  ASSERT_TRUE(cli.ok()) << cli.error().message;
  EXPECT_TRUE(check_provisioning_pcr_policy(*cli).ok());
}
