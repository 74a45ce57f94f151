// Sealed provisioning end to end, with real processes: an enclave notify-host (development attestation, the Braze
// provider, a fake Braze over TLS) and notify-ctl over TCP, through a recording relay standing in for the parent.
//   - offline sealing: `attest` on the parent, `seal` on the workstation (no network), `provision --blob` back on the
//     parent; the fake Braze then sees the right key;
//   - what the enclave refuses, each with its reason: a replayed blob, a blob for another name, an unsigned (or
//     foreign-signed) blob when secrets.provisioners is set, an empty value;
//   - the one-shot `provision --from-file` (DEV ONLY) through the same nonce flow.
// The key must never appear in the relayed bytes or any log.
#include "attestation/attestation_document.hpp"
#include "capturing_log.hpp"
#include "envelope_crafter.hpp"
#include "fake_braze.hpp"
#include "host_process.hpp"
#include "link/link_client.hpp"
#include "recording_relay.hpp"
#include "tcp_transport.hpp"
#include "test_pki.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

using namespace notify;
using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

const std::string kKey = "sealed-braze-key-5e6f7a8b9c0d1e2f";
const std::string kFullPolicy = std::string(R"({"PCR0": ")") + std::string(96, '1') + R"(", "PCR1": ")" +
                                std::string(96, '2') + R"(", "PCR2": ")" + std::string(96, '3') + R"("})";

std::string literal(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct KeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

std::string pem_of(EVP_PKEY* key, bool private_key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (private_key)
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  else
    PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// The enclave's `secrets:` block listing one provisioner, its PEM inline (a YAML literal block).
std::string secrets_with_provisioner(const std::string& name, const std::string& public_pem) {
  std::string yaml =
      "secrets:\n  allow_plaintext: false\n  provisioners:\n    - name: " + name + "\n      public_key: |\n";
  std::istringstream lines(public_pem);
  for (std::string line; std::getline(lines, line);) yaml += "        " + line + "\n";
  return yaml;
}

// An enclave host with the Braze provider (to a fake Braze that accepts only kKey) and development attestation,
// reached through a recording relay.
class Enclave {
 public:
  explicit Enclave(const std::string& secrets_yaml = "secrets: {allow_plaintext: false}\n")
      : pki_(make_test_pki(dir_.path())),
        fake_(FakeBraze::Options::over_tls(pki_, kKey)),
        host_("node: enclave-sealed\n" + secrets_yaml +
                  "providers:\n"
                  "  - plugin: braze\n"
                  "    default: true\n"
                  "    config: {endpoint: '" +
                  fake_.url() + "', ca_file: '" + pki_.ca_cert.string() +
                  "'}\n"
                  // A second instance, so the enclave declares a second secret name (braze-eu.api_key).
                  "  - name: braze-eu\n"
                  "    plugin: braze\n"
                  "    config: {endpoint: '" +
                  fake_.url() + "', ca_file: '" + pki_.ca_cert.string() +
                  "'}\n"
                  "serve: {transport: tcp, listen: '127.0.0.1:0', attestation: development}\n",
              {{"NOTIFY_LOG", "trace"}}) {
    auto a = host_.wait_listening();
    if (a) {
      address_ = *a;
      relay_ = std::make_unique<RecordingRelay>(address_);
    }
  }
  [[nodiscard]] bool up() const { return relay_ != nullptr; }
  [[nodiscard]] const TempDir& dir() const { return dir_; }
  [[nodiscard]] HostProcess& host() { return host_; }
  [[nodiscard]] FakeBraze& fake() { return fake_; }
  [[nodiscard]] std::string relayed() const { return relay_->recorded(); }

  /// notify-ctl talking to the enclave through the relay (the parent's view).
  CommandResult ctl(std::vector<std::string> args) {
    args.insert(args.begin(), NOTIFY_CTL_BIN);
    args.insert(args.end(), {"--transport", "tcp", "--address", relay_->address()});
    return run_command(std::move(args));
  }

  /// A hostile parent: its own link client, straight to the enclave.
  std::unique_ptr<link::LinkClient> client() {
    link::ClientOptions o;
    o.address = address_;
    o.node_name = "hostile-parent";
    o.request_timeout = 10s;
    o.max_attempts = 1;
    auto c = std::make_unique<link::LinkClient>(std::make_shared<tcp::TcpTransport>(), o, log_);
    c->start();
    return c;
  }

  /// Delivers one notification through the enclave: true when Braze took it.
  bool deliver(const std::string& request_id) {
    Notification n;
    n.request_id = request_id;
    n.external_user_ids = {"user123"};
    n.title = "Sealed";
    n.message = "delivered with a sealed key";
    auto r = client()->deliver(std::span(&n, 1));
    return r.ok() && r->size() == 1 && (*r)[0].outcome == Outcome::delivered;
  }
  int authorized_requests() {
    int n = 0;
    for (const auto& r : fake_.requests()) n += r.authorized ? 1 : 0;
    return n;
  }

 private:
  TempDir dir_;
  TestPki pki_;
  FakeBraze fake_;
  HostProcess host_;
  std::string address_;
  CapturingLog log_;
  std::unique_ptr<RecordingRelay> relay_;
};

// notify-ctl seal, offline: no --address, no --transport; it never opens a connection.
CommandResult seal(const std::filesystem::path& doc, const std::string& name, const std::filesystem::path& value_file,
                   const std::filesystem::path& out, std::vector<std::string> extra = {"--allow-development"}) {
  std::vector<std::string> argv{NOTIFY_CTL_BIN, "seal",      "--doc",       doc.string(),
                                "--secret",     name,        "--from-file", value_file.string(),
                                "--out",        out.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_command(std::move(argv));
}

}  // namespace

TEST(OfflineSealing, AttestSealProvisionDeliversWithTheKeyAndTheSameBlobReplayedIsRefused) {
  Enclave enclave;
  ASSERT_TRUE(enclave.up()) << enclave.host().output();
  const auto& dir = enclave.dir();
  const auto doc = dir.path() / "doc.cbor";
  const auto blob = dir.path() / "braze.blob";

  auto attest = enclave.ctl({"attest", "--out", doc.string()});
  ASSERT_EQ(attest.exit_code, 0) << attest.output;
  EXPECT_NE(attest.output.find("module_id: "), std::string::npos) << attest.output;
  const auto nonce_hex = std::regex_search(attest.output, std::regex("nonce: +[0-9a-f]{64} "));
  EXPECT_TRUE(nonce_hex) << attest.output;
  EXPECT_NE(attest.output.find("DEVELOPMENT"), std::string::npos) << attest.output;
  ASSERT_TRUE(std::filesystem::exists(doc));
  const auto first_byte = static_cast<unsigned char>(read_file(doc)[0]);
  EXPECT_TRUE(first_byte == 0x84 || first_byte == 0xD2) << "raw CBOR: a COSE_Sign1 array, or tag 18";

  // The workstation: the document is verified, the key sealed to it.
  auto sealed = seal(doc, "braze.api_key", dir.write("braze.key", kKey + "\n"), blob);
  ASSERT_EQ(sealed.exit_code, 0) << sealed.output;
  EXPECT_NE(sealed.output.find("verified: DEVELOPMENT attestation"), std::string::npos) << sealed.output;
  EXPECT_NE(sealed.output.find("sealed: secret 'braze.api_key'"), std::string::npos) << sealed.output;
  EXPECT_NE(sealed.output.find("unsigned"), std::string::npos) << sealed.output;

  auto provisioned = enclave.ctl({"provision", "--blob", blob.string()});
  ASSERT_EQ(provisioned.exit_code, 0) << provisioned.output << enclave.host().output();
  EXPECT_NE(provisioned.output.find("provisioned: secret 'braze.api_key' from a sealed blob (unsigned)"),
            std::string::npos)
      << provisioned.output;
  EXPECT_EQ(provisioned.output.find("DEV ONLY"), std::string::npos);
  ASSERT_TRUE(enclave.host().wait_for(literal("secret 'braze.api_key' installed from a sealed blob"), 10s));

  EXPECT_TRUE(enclave.deliver("sealed-1")) << enclave.host().output();
  EXPECT_EQ(enclave.authorized_requests(), 1);

  auto replayed = enclave.ctl({"provision", "--blob", blob.string()});
  EXPECT_EQ(replayed.exit_code, 1) << replayed.output;
  EXPECT_NE(replayed.output.find("its nonce was already used: a replayed blob"), std::string::npos) << replayed.output;
  EXPECT_TRUE(enclave.host().wait_for(
      literal("sealed secret 'braze.api_key' rejected: sealed blob: its nonce was already used"), 10s))
      << enclave.host().output();

  const std::string relayed = enclave.relayed();
  EXPECT_GT(relayed.size(), 1000u);  // the attestation document and the sealed blob went through
  EXPECT_EQ(relayed.find(kKey), std::string::npos) << "the key crossed the parent in clear";
  EXPECT_EQ(enclave.host().output().find(kKey), std::string::npos);
  EXPECT_EQ(sealed.output.find(kKey), std::string::npos);
}

TEST(OfflineSealing, ABlobSealedForAnotherNameIsRefused) {
  Enclave enclave;
  ASSERT_TRUE(enclave.up()) << enclave.host().output();
  const auto doc = enclave.dir().path() / "doc.cbor";
  const auto blob = enclave.dir().path() / "other.blob";
  ASSERT_EQ(enclave.ctl({"attest", "--out", doc.string()}).exit_code, 0);
  ASSERT_EQ(seal(doc, "braze-eu.api_key", enclave.dir().write("k", kKey), blob).exit_code, 0);

  // notify-ctl itself notices the mismatch...
  auto local = enclave.ctl({"provision", "--blob", blob.string(), "--secret", "braze.api_key"});
  EXPECT_EQ(local.exit_code, 1) << local.output;
  EXPECT_NE(local.output.find("is sealed for secret 'braze-eu.api_key', not 'braze.api_key'"), std::string::npos)
      << local.output;

  // ...and so does the enclave, when a parent sends the blob under another name itself.
  const std::string raw = read_file(blob);
  const auto* first = reinterpret_cast<const std::byte*>(raw.data());
  auto st = enclave.client()->provision(
      {"braze.api_key", link::ProvisionMode::sealed, std::vector<std::byte>(first, first + raw.size())});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::refused);
  EXPECT_EQ(st.message(),
            "sealed blob: sealed for secret 'braze-eu.api_key', not 'braze.api_key' (a blob cannot be "
            "renamed)");
  EXPECT_TRUE(enclave.host().wait_for(literal("sealed secret 'braze.api_key' rejected: sealed blob: sealed for "
                                              "secret 'braze-eu.api_key'"),
                                      10s));
  EXPECT_FALSE(enclave.deliver("renamed-1")) << "the Braze key must still be missing";
  EXPECT_EQ(enclave.authorized_requests(), 0);

  // The refused attempts did not use up the nonce: under its own name the blob is accepted.
  auto own = enclave.ctl({"provision", "--blob", blob.string()});
  EXPECT_EQ(own.exit_code, 0) << own.output;
}

TEST(OfflineSealing, WithProvisionersListedOnlyABlobSignedByOneOfThemIsAccepted) {
  KeyPtr ops(EVP_EC_gen("P-256"));
  KeyPtr stranger(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  Enclave enclave(secrets_with_provisioner("ops-1", pem_of(ops.get(), false)));
  ASSERT_TRUE(enclave.up()) << enclave.host().output();
  EXPECT_NE(enclave.host().output().find("sealed provisioning: blobs must be signed by one of: ops-1"),
            std::string::npos);
  const auto& dir = enclave.dir();
  const auto doc = dir.path() / "doc.cbor";
  const auto key_file = dir.write("braze.key", kKey);
  const auto ops_key = dir.write("ops-1.pem", pem_of(ops.get(), true));
  const auto stranger_key = dir.write("stranger.pem", pem_of(stranger.get(), true));
  ASSERT_EQ(enclave.ctl({"attest", "--out", doc.string()}).exit_code, 0);

  const auto unsigned_blob = dir.path() / "unsigned.blob";
  ASSERT_EQ(seal(doc, "braze.api_key", key_file, unsigned_blob).exit_code, 0);
  auto r = enclave.ctl({"provision", "--blob", unsigned_blob.string()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("unsigned blob, but secrets.provisioners requires a signature by one of: ops-1"),
            std::string::npos)
      << r.output;

  const auto foreign_blob = dir.path() / "foreign.blob";
  auto foreign_seal =
      seal(doc, "braze.api_key", key_file, foreign_blob, {"--allow-development", "--sign-key", stranger_key.string()});
  ASSERT_EQ(foreign_seal.exit_code, 0) << foreign_seal.output;
  EXPECT_NE(foreign_seal.output.find("(ed25519)"), std::string::npos) << foreign_seal.output;
  r = enclave.ctl({"provision", "--blob", foreign_blob.string()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("signed by an unknown key"), std::string::npos) << r.output;
  EXPECT_EQ(enclave.authorized_requests(), 0);

  const auto signed_blob = dir.path() / "signed.blob";
  auto signed_seal =
      seal(doc, "braze.api_key", key_file, signed_blob, {"--allow-development", "--sign-key", ops_key.string()});
  ASSERT_EQ(signed_seal.exit_code, 0) << signed_seal.output;
  r = enclave.ctl({"provision", "--blob", signed_blob.string()});
  ASSERT_EQ(r.exit_code, 0) << r.output << enclave.host().output();
  EXPECT_NE(r.output.find("signed by key id"), std::string::npos) << r.output;
  EXPECT_TRUE(enclave.host().wait_for(literal("sealed blob for 'braze.api_key' is signed by provisioner 'ops-1'"), 10s))
      << enclave.host().output();
  EXPECT_TRUE(enclave.deliver("signed-1")) << enclave.host().output();
  EXPECT_EQ(enclave.authorized_requests(), 1);
}

TEST(OfflineSealing, AnEmptyValueIsRefusedBySealAndByTheEnclave) {
  Enclave enclave;
  ASSERT_TRUE(enclave.up()) << enclave.host().output();
  const auto doc = enclave.dir().path() / "doc.cbor";
  ASSERT_EQ(enclave.ctl({"attest", "--out", doc.string()}).exit_code, 0);
  auto r = seal(doc, "braze.api_key", enclave.dir().write("empty.key", "\n"), enclave.dir().path() / "x.blob");
  EXPECT_EQ(r.exit_code, 65) << r.output;
  EXPECT_NE(r.output.find("the secret is empty"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(enclave.dir().path() / "x.blob"));

  // A parent (or a broken sealer) crafts an envelope holding an empty value, bound to the right name and nonce.
  const std::string raw = read_file(doc);
  const auto* first = reinterpret_cast<const std::byte*>(raw.data());
  auto cose = attestation::decode_cose_sign1(std::span(first, raw.size()));
  ASSERT_TRUE(cose.ok());
  auto document = attestation::decode_attestation_document(cose->payload);
  ASSERT_TRUE(document.ok() && document->nonce && document->public_key);
  const auto crafted = craft_envelope({"ENS2", "braze.api_key", *document->nonce, ""}, *document->public_key);
  const auto blob =
      enclave.dir().write("empty.blob", std::string(reinterpret_cast<const char*>(crafted.data()), crafted.size()));
  auto refused = enclave.ctl({"provision", "--blob", blob.string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("sealed blob: the value is empty"), std::string::npos) << refused.output;
  EXPECT_TRUE(
      enclave.host().wait_for(literal("sealed secret 'braze.api_key' rejected: sealed blob: the value is empty"), 10s));
}

TEST(OfflineSealing, SealRefusesWhatCannotBeTrusted) {
  Enclave enclave;
  ASSERT_TRUE(enclave.up()) << enclave.host().output();
  const auto& dir = enclave.dir();
  const auto key_file = dir.write("braze.key", kKey);
  const auto out = dir.path() / "never.blob";
  const auto doc = dir.path() / "doc.cbor";
  ASSERT_EQ(enclave.ctl({"attest", "--out", doc.string()}).exit_code, 0);

  // No PCR policy at all: a usage error. A partial one: refused before the document is even read.
  auto none = seal(doc, "braze.api_key", key_file, out, {});
  EXPECT_EQ(none.exit_code, 64) << none.output;
  auto partial = seal(doc, "braze.api_key", key_file, out, {"--pcr0", std::string(96, '1')});
  EXPECT_EQ(partial.exit_code, 1) << partial.output;
  EXPECT_NE(partial.output.find("REFUSED"), std::string::npos) << partial.output;
  EXPECT_NE(partial.output.find("PCR1"), std::string::npos) << partial.output;
  // A full policy without --allow-development: a development document is refused.
  auto dev = seal(doc, "braze.api_key", key_file, out, {"--expect-pcrs", dir.write("pcrs.json", kFullPolicy).string()});
  EXPECT_EQ(dev.exit_code, 1) << dev.output;
  EXPECT_NE(dev.output.find("development"), std::string::npos) << dev.output;
  // A verifier's document (the caller's nonce, here none) is not one to seal to.
  auto reply = enclave.client()->attest({});
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  const auto verify_doc = dir.write(
      "verify.cbor", std::string(reinterpret_cast<const char*>(reply->document.data()), reply->document.size()));
  auto no_nonce = seal(verify_doc, "braze.api_key", key_file, out);
  EXPECT_EQ(no_nonce.exit_code, 1) << no_nonce.output;
  EXPECT_NE(no_nonce.output.find("not a provisioning attestation"), std::string::npos) << no_nonce.output;
  // A signing key of the wrong kind.
  KeyPtr p384(EVP_EC_gen("P-384"));
  auto wrong_key =
      seal(doc, "braze.api_key", key_file, out,
           {"--allow-development", "--sign-key", dir.write("p384.pem", pem_of(p384.get(), true)).string()});
  EXPECT_EQ(wrong_key.exit_code, 65) << wrong_key.output;
  EXPECT_NE(wrong_key.output.find("an EC key on secp384r1"), std::string::npos) << wrong_key.output;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(OfflineSealing, ProvisionerKeysThatCannotSignBlobsAreConfigErrorsWithTheirLine) {
  TempDir dir;
  KeyPtr rsa(EVP_RSA_gen(2048));
  KeyPtr p384(EVP_EC_gen("P-384"));
  KeyPtr good(EVP_EC_gen("P-256"));
  const auto check = [&](const std::string& key_file) {
    const auto cfg = dir.write("enclave.yaml",
                               "node: e\n"
                               "secrets:\n"
                               "  provisioners:\n"
                               "    - name: ops-1\n"
                               "      public_key_file: '" +
                                   key_file +
                                   "'\n"
                                   "serve: {listen: '127.0.0.1:0', attestation: development}\n");
    return run_command({host_binary(), "--check-config", cfg.string()});
  };
  auto rsa_result = check(dir.write("rsa.pem", pem_of(rsa.get(), false)).string());
  EXPECT_EQ(rsa_result.exit_code, 78) << rsa_result.output;
  EXPECT_TRUE(std::regex_search(
      rsa_result.output, std::regex(R"(enclave\.yaml:5:\d+: secrets\.provisioners\[0\]\.public_key_file: an RSA key)")))
      << rsa_result.output;
  auto p384_result = check(dir.write("p384.pem", pem_of(p384.get(), false)).string());
  EXPECT_EQ(p384_result.exit_code, 78) << p384_result.output;
  EXPECT_NE(p384_result.output.find("an EC key on secp384r1; provisioner keys must be ECDSA P-256 or Ed25519"),
            std::string::npos)
      << p384_result.output;
  auto junk = check(dir.write("junk.pem", "not a key\n").string());
  EXPECT_EQ(junk.exit_code, 78) << junk.output;
  EXPECT_NE(junk.output.find("not a PEM public key"), std::string::npos) << junk.output;
  auto ok = check(dir.write("good.pem", pem_of(good.get(), false)).string());
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

TEST(SealedProvisioning, OneShotDevFlowStillWorksThroughTheNonceAndSaysDevOnly) {
  Enclave enclave;
  ASSERT_TRUE(enclave.up()) << enclave.host().output();
  auto key_file = enclave.dir().write("braze.key", kKey + "\n");

  // Without explicit consent, a development document is refused and nothing is sent.
  auto refused = enclave.ctl({"provision", "--secret", "braze.api_key", "--from-file", key_file.string(),
                              "--expect-pcrs", enclave.dir().write("pcrs.json", kFullPolicy).string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("REFUSED"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("development"), std::string::npos) << refused.output;

  auto ok =
      enclave.ctl({"provision", "--secret", "braze.api_key", "--from-file", key_file.string(), "--allow-development"});
  ASSERT_EQ(ok.exit_code, 0) << ok.output << enclave.host().output();
  EXPECT_NE(ok.output.find("DEV ONLY: the plaintext is read on this machine; in production use KMS (secrets.kms) or "
                           "attest/seal/provision --blob"),
            std::string::npos)
      << ok.output;
  EXPECT_NE(ok.output.find("DEVELOPMENT attestation"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("provisioned: secret 'braze.api_key'"), std::string::npos) << ok.output;
  ASSERT_TRUE(enclave.host().wait_for(literal("secret 'braze.api_key' installed from a sealed blob"), 10s));

  // The enclave, which now holds the key, delivers to Braze with it.
  EXPECT_TRUE(enclave.deliver("one-shot-1")) << enclave.host().output();
  EXPECT_EQ(enclave.authorized_requests(), 1);

  const std::string relayed = enclave.relayed();
  EXPECT_GT(relayed.size(), 1000u);
  EXPECT_EQ(relayed.find(kKey), std::string::npos) << "the key crossed the parent in clear";
  EXPECT_EQ(relayed.find("c2VhbGVkLWJyYXplLWtleS"), std::string::npos) << "the key crossed the parent as base64";
  EXPECT_EQ(enclave.host().output().find(kKey), std::string::npos);
  EXPECT_EQ(ok.output.find(kKey), std::string::npos);
}

TEST(NotifyCtl, AttestationVerifyPrintsTheVerdictAndExitsNonZeroOnFailure) {
  const std::string fixtures = NOTIFY_ATTESTATION_FIXTURES;
  auto good = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation.cbor", "--at",
                           "2024-09-07T14:37:39Z"});
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_NE(good.output.find("module_id: i-0a22e5c5f24d22174-enc0191cceb4289903f"), std::string::npos) << good.output;
  EXPECT_NE(good.output.find("PCR0:"), std::string::npos);
  auto expired = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation.cbor"});
  EXPECT_EQ(expired.exit_code, 1);
  EXPECT_NE(expired.output.find("chain: certificate has expired"), std::string::npos) << expired.output;
  auto debug = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation_debug.cbor",
                            "--at", "2024-09-07T14:38:06Z"});
  EXPECT_EQ(debug.exit_code, 1);
  EXPECT_NE(debug.output.find("debug:"), std::string::npos) << debug.output;
  auto allowed =
      run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation_debug.cbor", "--at",
                   "2024-09-07T14:38:06Z", "--allow-debug"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
  // PCR policy from flags: the right PCR0 passes, a wrong one is named.
  const std::string pcr0 =
      "e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a";
  auto pcr_ok = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation.cbor",
                             "--at", "2024-09-07T14:37:39Z", "--pcr0", pcr0});
  EXPECT_EQ(pcr_ok.exit_code, 0) << pcr_ok.output;
  auto pcr_bad = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation.cbor",
                              "--at", "2024-09-07T14:37:39Z", "--pcr0", std::string(96, '0')});
  EXPECT_EQ(pcr_bad.exit_code, 1) << pcr_bad.output;
  EXPECT_NE(pcr_bad.output.find("pcr: PCR0 mismatch"), std::string::npos) << pcr_bad.output;
  auto bad_time = run_command(
      {NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation.cbor", "--at", "yesterday"});
  EXPECT_EQ(bad_time.exit_code, 64);
  EXPECT_NE(bad_time.output.find("RFC 3339"), std::string::npos);
}
