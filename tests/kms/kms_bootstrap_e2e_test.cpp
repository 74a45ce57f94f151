// The unattended KMS bootstrap end to end, with real processes. A fake KMS and a fake Braze over TLS; an enclave
// notify-host (development attester) whose config sources braze.api_key from KMS; a parent notify-host (queue,
// ingress, provision with a ciphertext file and AWS credentials) whose link to the enclave crosses a recording relay.
// The enclave asks KMS itself with its attestation document as the Recipient; the parent only ever holds the
// ciphertext and the credentials. The key must reach Braze, and appear in no parent log, no relayed byte and no file
// the parent wrote.
#include "capturing_log.hpp"
#include "fake_braze.hpp"
#include "fake_imds.hpp"
#include "fake_kms.hpp"
#include "host_process.hpp"
#include "http_call.hpp"
#include "link/link_client.hpp"
#include "recording_relay.hpp"
#include "tcp_transport.hpp"
#include "test_pki.hpp"
#include "wait_until.hpp"

#include <notify/toolkit/base64.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>

using namespace notify;
using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

const std::string kBrazeKey = "kms-braze-key-7d1e9a2b4c6f8e0d";
const std::string kIngressToken = "kms-ingress-token-0a1b2c3d";
const FakeKms::Principal kPrincipal{"ASIAKMSTESTPARENT001", "kms-test-secret-access-key-1f2e3d4c5b6a",
                                    "kms-test-session-token-9z8y7x", false};

// Wrapped at 76 columns, as `aws kms encrypt --output text` may write it: the parent must ignore the line breaks.
std::string b64(std::span<const std::byte> bytes) {
  const auto flat = notify::toolkit::base64_encode(bytes);
  std::string wrapped;
  for (std::size_t i = 0; i < flat.size(); i += 76) wrapped += flat.substr(i, 76) + "\n";
  return wrapped;
}

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

/// True if `haystack` contains the key in clear or base64 (at any of the three alignments).
bool contains_key(const std::string& haystack, const std::string& key = kBrazeKey) {
  if (haystack.find(key) != std::string::npos) return true;
  for (std::size_t shift = 0; shift < 3; ++shift) {
    auto enc = b64(bytes_of(std::string(shift, 'x') + key));
    enc.erase(std::remove(enc.begin(), enc.end(), '\n'), enc.end());
    // Skip the characters that depend on the prefix and the padding that depends on what follows.
    const auto core = enc.substr(4, enc.size() - 8);
    if (haystack.find(core) != std::string::npos) return true;
  }
  return false;
}

std::string enclave_yaml(const FakeKms& kms, const FakeBraze& braze, const TestPki& pki, const std::string& port = "0",
                         const std::string& context = "{secret: braze.api_key}") {
  return "node: enclave-kms\n"
         "secrets:\n"
         "  kms: {region: us-east-1, key_id: '" +
         kms.key_arn() + "', endpoint: '" + kms.url() + "', ca_file: '" + pki.ca_cert.string() +
         "', egress: {transport: tcp}, request_timeout: 5s}\n"
         "  sources:\n"
         "    - {name: braze.api_key, kms: {encryption_context: " +
         context +
         "}}\n"
         "providers:\n"
         "  - plugin: braze\n"
         "    config: {endpoint: '" +
         braze.url() + "', ca_file: '" + pki.ca_cert.string() +
         "'}\n"
         "serve: {transport: tcp, listen: '127.0.0.1:" +
         port + "', attestation: development}\n";
}

std::string parent_yaml(const std::string& enclave, const std::filesystem::path& db,
                        const std::filesystem::path& ciphertext, const std::string& credentials = "env",
                        const std::string& extra_provision = "") {
  return "node: parent-kms\n"
         "forward: {transport: tcp, address: '" +
         enclave +
         "', request_timeout: 5s, backoff_initial: 20ms, backoff_max: 200ms}\n"
         "queue: {path: '" +
         db.string() +
         "', max_attempts: 100, backoff_initial: 100ms, backoff_max: 400ms, lease: 5s, poll_interval: 50ms}\n"
         "ingress: {listen: '127.0.0.1:0', token: '${INGRESS_TOKEN}'}\n"
         "provision:\n"
         "  kms: [{name: braze.api_key, ciphertext_file: '" +
         ciphertext.string() +
         "'}]\n"
         "  aws_credentials: " +
         credentials +
         "\n"
         "  check_interval: 200ms\n"
         "  retry_initial: 100ms\n"
         "  retry_max: 500ms\n" +
         extra_provision;
}

std::map<std::string, std::string> parent_env(const FakeKms::Principal& p = kPrincipal) {
  return {{"AWS_ACCESS_KEY_ID", p.access_key_id},
          {"AWS_SECRET_ACCESS_KEY", p.secret_access_key},
          {"AWS_SESSION_TOKEN", p.session_token},
          {"INGRESS_TOKEN", kIngressToken},
          {"NOTIFY_LOG", "trace"}};
}

std::string notification(const std::string& id, const std::string& user) {
  return R"({"request_id": ")" + id + R"(", "external_user_id": ")" + user + R"(", "title": "T", "message": "M"})";
}

/// Everything one test needs: PKI, fakes, the ciphertext file.
struct World {
  TempDir dir;
  TestPki pki = make_test_pki(dir.path());
  FakeKms kms;
  FakeBraze braze{FakeBraze::Options::over_tls(pki, kBrazeKey)};
  std::filesystem::path parent_dir = dir.path() / "parent";
  std::filesystem::path ciphertext_file = parent_dir / "braze.api_key.ciphertext";

  explicit World(FakeKms::Options kms_options) : kms(with_tls(std::move(kms_options), pki)) {
    std::filesystem::create_directories(parent_dir);
    write_ciphertext(kms.encrypt(FakeKms::kDefaultKeyId, bytes_of(kBrazeKey), {{"secret", "braze.api_key"}}));
  }
  World() : World(default_kms()) {}

  void write_ciphertext(std::span<const std::byte> blob) const { std::ofstream(ciphertext_file) << b64(blob) << "\n"; }
  static FakeKms::Options default_kms() {
    FakeKms::Options o;
    o.principals = {kPrincipal};
    return o;
  }
  static FakeKms::Options with_tls(FakeKms::Options o, const TestPki& pki) {
    o.cert_file = pki.server_cert;
    o.key_file = pki.server_key;
    return o;
  }
};

/// The enclave's health as the link reports it, asked directly (as a parent would).
std::optional<link::SecretStatus> secret_state(const std::string& enclave_address, const std::string& name) {
  CapturingLog log;
  link::ClientOptions co;
  co.address = enclave_address;
  co.node_name = "test";
  co.max_attempts = 1;
  link::LinkClient client(std::make_shared<tcp::TcpTransport>(), co, log);
  client.start();
  if (!client.wait_connected(5s)) return std::nullopt;
  auto h = client.health();
  client.stop();
  if (!h) return std::nullopt;
  for (const auto& s : h->secrets) {
    if (s.name == name) return s;
  }
  return std::nullopt;
}

/// Every file the parent wrote (its queue, WAL, ciphertext), concatenated.
std::string parent_files(const std::filesystem::path& dir) {
  std::string all;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) all += slurp(e.path());
  }
  return all;
}

}  // namespace

TEST(KmsBootstrap, KeyReachesBrazeThroughKmsAndNeverCrossesTheParentInClear) {
  World w;
  HostProcess enclave(enclave_yaml(w.kms, w.braze, w.pki), {{"NOTIFY_LOG", "trace"}});
  auto enclave_address = enclave.wait_listening();
  ASSERT_TRUE(enclave_address) << enclave.output();
  // Before the parent hands anything over, the secret is missing and nothing was asked of KMS.
  auto before = secret_state(*enclave_address, "braze.api_key");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->state, link::SecretState::missing);
  EXPECT_EQ(before->source, "kms");
  EXPECT_EQ(w.kms.calls("Decrypt"), 0);

  RecordingRelay relay(*enclave_address);
  HostProcess parent(parent_yaml(relay.address(), w.parent_dir / "queue.db", w.ciphertext_file), parent_env());
  auto ingress = parent.wait_for(R"(ingress listening on (\S+))", 20s);
  ASSERT_TRUE(ingress) << parent.output();

  ASSERT_TRUE(enclave.wait_for(R"(secret 'braze.api_key' installed from AWS KMS \(([^,]+))", 30s))
      << enclave.output() << parent.output();
  EXPECT_NE(enclave.output().find(w.kms.key_arn()), std::string::npos);
  EXPECT_TRUE(parent.wait_for("enclave installed 'braze.api_key' from AWS KMS", 10s)) << parent.output();
  auto after = secret_state(*enclave_address, "braze.api_key");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->state, link::SecretState::installed);
  EXPECT_EQ(after->origin, "kms");

  // The enclave signed its own Decrypt with the parent's credentials and sent its attestation as the Recipient.
  const auto decrypts = w.kms.requests();
  ASSERT_FALSE(decrypts.empty());
  const auto& d = decrypts.back();
  EXPECT_EQ(d.operation, "Decrypt");
  EXPECT_TRUE(d.signature_valid);
  EXPECT_TRUE(d.had_security_token);
  EXPECT_TRUE(d.had_recipient);
  EXPECT_EQ(d.access_key_id, kPrincipal.access_key_id);
  EXPECT_EQ(d.encryption_context, (std::map<std::string, std::string>{{"secret", "braze.api_key"}}));

  auto r = http_call(
      *ingress, "POST", "/v1/notifications",
      R"({"notifications": [)" + notification("k-1", "kms-user-1") + "," + notification("k-2", "kms-user-2") + "]}",
      kIngressToken);
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(wait_until([&] { return w.braze.accepted_recipients().size() == 2; }, 30s)) << parent.output();
  for (const auto& req : w.braze.requests()) EXPECT_TRUE(req.authorized) << "Braze saw another key";

  // Nothing the parent saw or wrote holds the key: not its log (at trace), not the link's bytes, not its files.
  parent.signal(SIGTERM);
  parent.wait();
  // The checks below can fail: the search finds the key in clear and in base64, and the relay did carry the link.
  ASSERT_TRUE(contains_key("...\"" + b64(bytes_of("{\"k\":\"" + kBrazeKey + "\"}")) + "\"..."));
  ASSERT_TRUE(contains_key("Bearer " + kBrazeKey));
  ASSERT_NE(relay.recorded().find("\"ciphertexts\""), std::string::npos);
  EXPECT_FALSE(contains_key(parent.output())) << "the key is in the parent's log";
  EXPECT_FALSE(contains_key(relay.recorded())) << "the key crossed the parent";
  EXPECT_FALSE(contains_key(parent_files(w.parent_dir))) << "the key is in a file the parent wrote";
  // The credentials the parent handed over are secrets too: never in either log.
  for (const auto& text : {parent.output(), enclave.output()}) {
    EXPECT_EQ(text.find(kPrincipal.secret_access_key), std::string::npos);
    EXPECT_EQ(text.find(kPrincipal.session_token), std::string::npos);
  }
  EXPECT_FALSE(contains_key(enclave.output())) << "the enclave logged the key";
}

TEST(KmsBootstrap, EnclaveRestartBootstrapsAgainUnattendedAndDeliversWhatWasAcceptedMeanwhile) {
  World w;
  auto enclave = std::make_unique<HostProcess>(enclave_yaml(w.kms, w.braze, w.pki));
  const auto enclave_address = enclave->wait_listening().value_or("");
  ASSERT_FALSE(enclave_address.empty()) << enclave->output();
  const auto port = enclave_address.substr(enclave_address.rfind(':') + 1);
  HostProcess parent(parent_yaml(enclave_address, w.parent_dir / "queue.db", w.ciphertext_file), parent_env());
  auto ingress = parent.wait_for(R"(ingress listening on (\S+))", 20s);
  ASSERT_TRUE(ingress) << parent.output();
  ASSERT_TRUE(enclave->wait_for("installed from AWS KMS", 30s)) << enclave->output() << parent.output();
  ASSERT_EQ(
      http_call(*ingress, "POST", "/v1/notifications", notification("r-0", "restart-user-0"), kIngressToken).status,
      202);
  ASSERT_TRUE(wait_until([&] { return w.braze.accepted_recipients().count("restart-user-0") == 1; }, 30s));

  // The enclave dies (its memory, and the key in it, with it). Work accepted meanwhile must not be lost.
  enclave->signal(SIGKILL);
  enclave->wait();
  enclave.reset();
  const int kMeanwhile = 20;
  for (int i = 1; i <= kMeanwhile; ++i) {
    auto r = http_call(*ingress, "POST", "/v1/notifications",
                       notification("r-" + std::to_string(i), "restart-user-" + std::to_string(i)), kIngressToken);
    ASSERT_EQ(r.status, 202) << r.body;
  }
  const int decrypts_before = w.kms.calls("Decrypt");

  // A new enclave on the same address (it binds its own port again, as a restarted enclave does), with no key: no
  // human steps in.
  enclave = std::make_unique<HostProcess>(enclave_yaml(w.kms, w.braze, w.pki, port));
  ASSERT_TRUE(enclave->wait_listening()) << enclave->output();
  ASSERT_TRUE(enclave->wait_for("installed from AWS KMS", 30s)) << enclave->output() << parent.output();
  EXPECT_GT(w.kms.calls("Decrypt"), decrypts_before);
  ASSERT_TRUE(wait_until([&] { return w.braze.accepted_recipients().size() == kMeanwhile + 1; }, 60s))
      << parent.output() << enclave->output();
  for (int i = 0; i <= kMeanwhile; ++i) {
    EXPECT_GE(w.braze.accepted_recipients().count("restart-user-" + std::to_string(i)), 1u) << i;
  }
  for (const auto& req : w.braze.requests()) EXPECT_TRUE(req.authorized);
}

TEST(KmsBootstrap, PcrPolicyMismatchLeavesTheKeyMissingAndHealthNamesAccessDenied) {
  World w;
  // kms:RecipientAttestation:PCR0 names another image than the (development, all-zero) enclave's.
  w.kms.set_recipient_pcrs(FakeKms::kDefaultKeyId, {{0, std::vector<std::byte>(48, std::byte{0x11})}});
  HostProcess enclave(enclave_yaml(w.kms, w.braze, w.pki));
  auto enclave_address = enclave.wait_listening();
  ASSERT_TRUE(enclave_address) << enclave.output();
  HostProcess parent(parent_yaml(*enclave_address, w.parent_dir / "queue.db", w.ciphertext_file), parent_env());
  ASSERT_TRUE(parent.wait_for("enclave could not fetch 'braze.api_key' from AWS KMS: AccessDeniedException", 30s))
      << parent.output() << enclave.output();
  auto state = secret_state(*enclave_address, "braze.api_key");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->state, link::SecretState::failing);
  EXPECT_NE(state->detail.find("AccessDeniedException"), std::string::npos) << state->detail;
  EXPECT_EQ(enclave.output().find("installed from AWS KMS"), std::string::npos);
  EXPECT_TRUE(w.braze.requests().empty());

  // The parent keeps trying with backoff; once the policy admits this image, the key arrives with no human.
  w.kms.set_recipient_pcrs(FakeKms::kDefaultKeyId, {{0, std::vector<std::byte>(48, std::byte{0})}});
  EXPECT_TRUE(enclave.wait_for("installed from AWS KMS", 30s)) << enclave.output() << parent.output();
  auto fixed = secret_state(*enclave_address, "braze.api_key");
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->state, link::SecretState::installed);
}

TEST(KmsBootstrap, CiphertextOfAnotherContextOrAnotherKeyIsRefused) {
  FakeKms::Options o = World::default_kms();
  FakeKms::Key other;
  other.id = "0987dcba-09fe-87dc-65ba-ab0987654321";
  o.keys.push_back(other);
  World w(o);
  HostProcess enclave(enclave_yaml(w.kms, w.braze, w.pki));
  auto enclave_address = enclave.wait_listening();
  ASSERT_TRUE(enclave_address) << enclave.output();

  // What a parent hands over, sent directly: credentials plus a ciphertext.
  CapturingLog log;
  link::ClientOptions co;
  co.address = *enclave_address;
  co.node_name = "test-parent";
  co.max_attempts = 1;
  co.request_timeout = 20s;
  link::LinkClient client(std::make_shared<tcp::TcpTransport>(), co, log);
  client.start();
  ASSERT_TRUE(client.wait_connected(5s));
  auto hand_over = [&](std::vector<std::byte> blob, const std::string& name = "braze.api_key") {
    link::KmsProvisionRequest req;
    req.access_key_id = kPrincipal.access_key_id;
    req.secret_access_key = Secret(kPrincipal.secret_access_key);
    req.session_token = Secret(kPrincipal.session_token);
    req.ciphertexts.push_back({name, std::move(blob)});
    return client.kms_provision(req);
  };

  // Encrypted under another encryption context (another secret's ciphertext): KMS refuses.
  auto other_context = hand_over(w.kms.encrypt(FakeKms::kDefaultKeyId, bytes_of(kBrazeKey), {{"secret", "fcm.key"}}));
  ASSERT_TRUE(other_context) << other_context.error().message;
  EXPECT_FALSE(other_context->outcomes.at(0).installed);
  EXPECT_NE(other_context->outcomes.at(0).detail.find("InvalidCiphertextException"), std::string::npos)
      << other_context->outcomes.at(0).detail;

  // Encrypted under another key: the enclave pins its key id, so KMS refuses the mismatch.
  auto other_key = hand_over(
      w.kms.encrypt("0987dcba-09fe-87dc-65ba-ab0987654321", bytes_of(kBrazeKey), {{"secret", "braze.api_key"}}));
  ASSERT_TRUE(other_key) << other_key.error().message;
  EXPECT_FALSE(other_key->outcomes.at(0).installed);
  EXPECT_NE(other_key->outcomes.at(0).detail.find("IncorrectKeyException"), std::string::npos)
      << other_key->outcomes.at(0).detail;

  // A name the enclave does not source from KMS: refused by the enclave, KMS never asked.
  const int decrypts = w.kms.calls("Decrypt");
  auto not_sourced =
      hand_over(w.kms.encrypt(FakeKms::kDefaultKeyId, bytes_of("x"), {{"secret", "ingress.token"}}), "ingress.token");
  ASSERT_TRUE(not_sourced);
  EXPECT_FALSE(not_sourced->outcomes.at(0).installed);
  EXPECT_NE(not_sourced->outcomes.at(0).detail.find("not a KMS source"), std::string::npos);
  EXPECT_EQ(w.kms.calls("Decrypt"), decrypts);

  // Hostile sizes are refused at decoding, before any KMS call: a blob over KMS's 6,144-byte limit.
  auto oversized = hand_over(std::vector<std::byte>(7000, std::byte{1}));
  ASSERT_FALSE(oversized);
  EXPECT_EQ(oversized.error().code, Errc::protocol_error);
  EXPECT_EQ(w.kms.calls("Decrypt"), decrypts);

  // Nor can a parent install a value of its own under a name the enclave fetches from KMS (sealed or plaintext).
  for (auto mode : {link::ProvisionMode::sealed, link::ProvisionMode::plaintext_insecure}) {
    auto shadow = client.provision({"braze.api_key", mode, bytes_of("parent-chosen-value")});
    ASSERT_FALSE(shadow.ok());
    EXPECT_EQ(shadow.code(), Errc::refused);
    EXPECT_NE(shadow.message().find("is fetched from KMS by enclave-kms"), std::string::npos) << shadow.message();
  }

  auto state = secret_state(*enclave_address, "braze.api_key");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->state, link::SecretState::failing);
  client.stop();
  EXPECT_FALSE(contains_key(enclave.output()));
}

TEST(KmsBootstrap, ExpiredCredentialsAreRefreshedFromImdsAndRetried) {
  FakeKms::Principal stale{"ASIAKMSTESTSTALE0001", "stale-secret-access-key-000000000000", "stale-token-0000", true};
  FakeKms::Principal fresh{"ASIAKMSTESTFRESH0002", "fresh-secret-access-key-111111111111", "fresh-token-1111", false};
  FakeKms::Options o = World::default_kms();
  o.principals = {stale, fresh};
  World w(o);
  FakeImds::Options io;
  io.credentials.access_key_id = stale.access_key_id;
  io.credentials.secret_access_key = stale.secret_access_key;
  io.credentials.token = stale.session_token;
  FakeImds imds(io);

  HostProcess enclave(enclave_yaml(w.kms, w.braze, w.pki));
  auto enclave_address = enclave.wait_listening();
  ASSERT_TRUE(enclave_address) << enclave.output();
  HostProcess parent(parent_yaml(*enclave_address, w.parent_dir / "queue.db", w.ciphertext_file, "imds",
                                 "  imds_endpoint: '" + imds.url() + "'\n"),
                     {{"INGRESS_TOKEN", kIngressToken}, {"NOTIFY_LOG", "trace"}});
  ASSERT_TRUE(parent.wait_for("ExpiredTokenException", 30s)) << parent.output() << enclave.output();
  const int gets_before = imds.counts().credential_gets;
  // IMDS rotates the role's credentials, as it does before they expire.
  FakeImds::ServedCredentials rotated = io.credentials;
  rotated.access_key_id = fresh.access_key_id;
  rotated.secret_access_key = fresh.secret_access_key;
  rotated.token = fresh.session_token;
  imds.set_credentials(rotated);
  ASSERT_TRUE(enclave.wait_for("installed from AWS KMS", 30s)) << parent.output() << enclave.output();
  EXPECT_GT(imds.counts().credential_gets, gets_before);
  EXPECT_EQ(w.kms.requests().back().access_key_id, fresh.access_key_id);
  for (const auto& text : {parent.output(), enclave.output()}) {
    EXPECT_EQ(text.find(stale.secret_access_key), std::string::npos);
    EXPECT_EQ(text.find(fresh.secret_access_key), std::string::npos);
    EXPECT_EQ(text.find(fresh.session_token), std::string::npos);
  }
}

TEST(KmsBootstrap, BadCiphertextFileStopsTheParentNamingTheFile) {
  World w;
  std::ofstream(w.ciphertext_file) << "not base64 at all!\n";
  HostProcess parent(parent_yaml("127.0.0.1:9", w.parent_dir / "queue.db", w.ciphertext_file), parent_env());
  auto code = parent.wait(20s);
  ASSERT_TRUE(code) << parent.output();
  EXPECT_NE(*code, 0);
  EXPECT_NE(parent.output().find(w.ciphertext_file.string() + ": not base64"), std::string::npos) << parent.output();
}
