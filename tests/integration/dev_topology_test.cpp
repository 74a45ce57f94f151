// End to end with real processes: an enclave notify-host serving the link over TCP and a parent notify-host whose demo
// sends through it, exactly the dev topology of the README's first command.
#include "host_process.hpp"
#include "recording_relay.hpp"
#include "wait_until.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <set>

using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

// `with_braze` adds a Braze instance (never called: log stays the default), so braze.api_key is a secret this
// enclave declares and may receive; an enclave accepts only the secret names its providers declare.
std::string enclave_yaml(const std::string& output, bool allow_plaintext = true, bool with_braze = false) {
  return "node: enclave-test\n"
         "secrets: {allow_plaintext: " +
         std::string(allow_plaintext ? "true" : "false") +
         "}\n"
         "providers:\n"
         "  - name: log\n"
         "    plugin: log\n"
         "    default: true\n"
         "    config: {output: " +
         output + "}\n" +
         (with_braze ? "  - {name: braze, plugin: braze, config: {endpoint: 'https://127.0.0.1:9'}}\n" : "") +
         "serve: {transport: tcp, listen: '127.0.0.1:0'}\n";
}

std::string parent_yaml(const std::string& address, int count, const std::string& init_value = "") {
  return "node: parent-test\n"
         "forward: {transport: tcp, address: '" +
         address +
         "', request_timeout: 10s, backoff_initial: 20ms, backoff_max: 200ms}\n"
         "demo:\n"
         "  interval: 20ms\n"
         "  count: " +
         std::to_string(count) +
         "\n"
         "  exit_when_done: true\n"
         "  initialize: {value: '" +
         init_value + "'}\n";
}

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

}  // namespace

TEST(DevTopology, ParentDemoDeliversEveryNotificationExactlyOnceThroughTheEnclave) {
  TempDir dir;
  const auto out = dir.path() / "delivered.jsonl";
  HostProcess enclave(enclave_yaml(out.string()));
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();

  constexpr int kPeriodic = 25;
  HostProcess parent(parent_yaml(*address, kPeriodic));
  auto code = parent.wait(60s);
  ASSERT_TRUE(code.has_value()) << "parent did not finish\n" << parent.output();
  EXPECT_EQ(*code, 0) << parent.output();

  // The seed's log lines, in the seed's order.
  const std::string log = parent.output();
  std::size_t pos = 0;
  for (const char* line : {"🚀 Starting Enclave Worker", "📡 Connecting to enclave at", "🔐 Initializing secure enclave",
                           "✅ Enclave initialized successfully", "🏥 Performing health check...",
                           "✅ Health check passed. Enclave initialized: true", "📨 Sending test notification...",
                           "✅ Notification sent successfully!"}) {
    auto at = log.find(line, pos);
    ASSERT_NE(at, std::string::npos) << "missing or out of order: " << line << "\n" << log;
    pos = at;
  }
  EXPECT_EQ(parent.process().count("✅ Notification sent successfully!"), static_cast<std::size_t>(kPeriodic + 1));

  // Each notification reached the provider exactly once.
  auto delivered = lines_of(out);
  ASSERT_EQ(delivered.size(), static_cast<std::size_t>(kPeriodic + 1)) << enclave.output();
  std::set<std::string> ids;
  for (const auto& l : delivered) {
    auto obj = Poco::JSON::Parser().parse(l).extract<Poco::JSON::Object::Ptr>();
    ids.insert(obj->getValue<std::string>("request_id"));
    EXPECT_EQ(obj->getArray("external_user_ids")->getElement<std::string>(0), "user123");
  }
  EXPECT_EQ(ids.size(), delivered.size());

  enclave.signal(SIGTERM);
  auto ecode = enclave.wait(20s);
  ASSERT_TRUE(ecode.has_value());
  EXPECT_EQ(*ecode, 0) << enclave.output();
  EXPECT_NE(enclave.output().find("stopped"), std::string::npos);
}

TEST(DevTopology, ParentWaitsForALateEnclaveAndThenDelivers) {
  TempDir dir;
  const auto out = dir.path() / "late.jsonl";
  // The parent is given an address before any enclave exists: a relay's, bound for the whole test, which closes
  // every connection until the enclave is up behind it (then the enclave binds port 0 and says where it listens).
  RecordingRelay relay;
  HostProcess parent(parent_yaml(relay.address(), 2));
  ASSERT_TRUE(parent.wait_for("📡 Connecting to enclave at", 20s)) << parent.output();
  // The enclave starts only once the parent has found nobody there and has come back: it is retrying with backoff.
  ASSERT_TRUE(wait_until([&] { return relay.connections() >= 2; }, 20s)) << parent.output();
  HostProcess enclave(enclave_yaml(out.string()));
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  relay.set_upstream(*address);
  auto code = parent.wait(60s);
  ASSERT_TRUE(code.has_value()) << parent.output();
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(lines_of(out).size(), 3u) << parent.output();
}

TEST(DevTopology, PlaintextInitializeIsAcceptedOnlyWhenAllowedAndTheKeyNeverLogged) {
  const std::string key = "sk-test-PLAINTEXT-key-0123456789";
  TempDir dir;
  {
    HostProcess enclave(enclave_yaml((dir.path() / "a.jsonl").string(), /*allow_plaintext=*/true, /*with_braze=*/true),
                        {{"NOTIFY_LOG", "trace"}});
    auto address = enclave.wait_listening();
    ASSERT_TRUE(address);
    HostProcess parent(parent_yaml(*address, 0 + 1, key), {{"NOTIFY_LOG", "trace"}});
    ASSERT_TRUE(parent.wait(60s).has_value());
    EXPECT_NE(parent.output().find("✅ Enclave initialized successfully"), std::string::npos) << parent.output();
    EXPECT_NE(enclave.output().find("INSECURE: secret 'braze.api_key'"), std::string::npos) << enclave.output();
    EXPECT_NE(parent.output().find("INSECURE: sending secret"), std::string::npos);
    EXPECT_EQ(parent.output().find(key), std::string::npos) << "key leaked in parent log";
    EXPECT_EQ(enclave.output().find(key), std::string::npos) << "key leaked in enclave log";
  }
  {
    HostProcess enclave(enclave_yaml((dir.path() / "b.jsonl").string(), /*allow_plaintext=*/false, /*with_braze=*/true),
                        {{"NOTIFY_LOG", "trace"}});
    auto address = enclave.wait_listening();
    ASSERT_TRUE(address);
    HostProcess parent(parent_yaml(*address, 1, key), {{"NOTIFY_LOG", "trace"}});
    ASSERT_TRUE(parent.wait(60s).has_value());
    EXPECT_NE(parent.output().find("❌ Failed to initialize enclave"), std::string::npos) << parent.output();
    EXPECT_NE(parent.output().find("secrets.allow_plaintext: false"), std::string::npos) << parent.output();
    EXPECT_EQ(parent.output().find(key), std::string::npos);
    EXPECT_EQ(enclave.output().find(key), std::string::npos);
  }
}

TEST(DevTopology, TheEnclaveInstallsOnlySecretNamesItsConfigDeclares) {
  // A parent that pushes names of its own choosing (to fill the enclave's memory, or to shadow a real secret) is
  // refused, even where plaintext provisioning is allowed (dev).
  TempDir dir;
  HostProcess enclave(enclave_yaml((dir.path() / "c.jsonl").string(), /*allow_plaintext=*/true),
                      {{"NOTIFY_LOG", "trace"}});
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address);
  HostProcess parent(parent_yaml(*address, 1, "value-for-an-undeclared-name"), {{"NOTIFY_LOG", "trace"}});
  ASSERT_TRUE(parent.wait(60s).has_value());
  EXPECT_NE(parent.output().find("'braze.api_key' is not a secret enclave-test's providers declare (none)"),
            std::string::npos)
      << parent.output();
  EXPECT_NE(enclave.output().find("refused provisioning of an undeclared secret name"), std::string::npos);
  EXPECT_EQ(enclave.output().find("INSECURE: secret"), std::string::npos) << enclave.output();
}

TEST(HostCli, CheckConfigPrintsResolvedConfigWithSecretsRedacted) {
  TempDir dir;
  auto cfg = dir.write("p.yaml", parent_yaml("127.0.0.1:5000", 1, "${MY_API_KEY}"));
  auto r = run_command({host_binary(), "--check-config", cfg.string()}, {{"MY_API_KEY", "sk-very-secret-987654"}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("OK"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("127.0.0.1:5000"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("sk-very-secret-987654"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("<redacted>"), std::string::npos) << r.output;
}

TEST(HostCli, BadConfigExitsWithFileLineAndKey) {
  TempDir dir;
  auto cfg = dir.write("bad.yaml", "node: x\nforward:\n  transport: tcp\n  adress: 127.0.0.1:1\n");
  auto r = run_command({host_binary(), "--check-config", cfg.string()});
  EXPECT_EQ(r.exit_code, 78) << r.output;
  EXPECT_NE(r.output.find("bad.yaml:4:3: forward.adress: unknown key (did you mean 'address'?)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("forward.address: required key is missing"), std::string::npos) << r.output;
}

TEST(HostCli, UnknownPluginInConfigNamesItAndTheSearchPath) {
  TempDir dir;
  auto cfg = dir.write("p.yaml", "providers:\n  - plugin: nosuch\nserve: {listen: '127.0.0.1:0'}\n");
  auto r = run_command({host_binary(), "--check-config", cfg.string()});
  EXPECT_EQ(r.exit_code, 78) << r.output;
  EXPECT_NE(r.output.find("p.yaml:2:13: providers[0].plugin:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("notify-provider-nosuch.so"), std::string::npos) << r.output;
}

TEST(HostCli, ListPluginsShowsTheBuiltPlugins) {
  auto r = run_command({host_binary(), "--list-plugins"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("host build: abi 6, compiler "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("transport tcp 1.0.0 (abi 6)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("provider log 1.0.0 (abi 6)"), std::string::npos) << r.output;
}

TEST(HostCli, DevConfigsInTheRepositoryAreValid) {
  for (const char* f : {"config/dev/enclave.yaml", "config/dev/parent.yaml", "config/dev/enclave-kms.yaml"}) {
    auto r = run_command({host_binary(), "--check-config", std::string(NOTIFY_SOURCE_DIR) + "/" + f},
                         {{"NOTIFY_PLUGIN_DIR", plugin_dir()},
                          {"NOTIFY_HTTP_TOKEN", "dev-token-abcdef123"},
                          {"KMS_ENDPOINT", "https://127.0.0.1:4443"},
                          {"KMS_KEY_ID", "1234abcd-12ab-34cd-56ef-1234567890ab"},
                          {"BRAZE_API_ENDPOINT", "https://127.0.0.1:4444"}});
    EXPECT_EQ(r.exit_code, 0) << f << "\n" << r.output;
    EXPECT_EQ(r.output.find("dev-token-abcdef123"), std::string::npos) << r.output;
  }
}

TEST(DevTopology, EnclaveAnswersARepeatedRequestIdFromMemoryWithoutASecondSend) {
  TempDir dir;
  const auto out = dir.path() / "dedup.jsonl";
  HostProcess enclave(enclave_yaml(out.string()));
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  // What a parent does when it re-sends after a lost acknowledgement: the same request_id arrives twice.
  auto r = run_command({NOTIFY_LINK_PROBE_BIN, *address, "same-request-id", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(lines_of(out).size(), 1u) << r.output << enclave.output();
  EXPECT_NE(enclave.output().find("answered 1 already-delivered request_id(s) from memory"), std::string::npos)
      << enclave.output();
}

TEST(HostCli, ProductionConfigsAreValidAndKeepTheKeyOffTheParent) {
  // The image build bakes KMS_KEY_ID into the enclave's environment (deploy/Dockerfile.enclave); the parent's unit
  // provides NOTIFY_HTTP_TOKEN from /etc/notify/parent.env.
  const std::map<std::string, std::string> env{
      {"KMS_KEY_ID", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
      {"NOTIFY_HTTP_TOKEN", "check-config-token"}};
  for (const char* f : {"config/enclave.yaml", "config/parent.yaml", "deploy/relay.yaml"}) {
    // Point the configs' fixed plugin folder at the build: NOTIFY_PLUGIN_PATH is searched first.
    auto r = run_command({host_binary(), "--check-config", std::string(NOTIFY_SOURCE_DIR) + "/" + f}, env);
    EXPECT_EQ(r.exit_code, 0) << f << "\n" << r.output;
  }
  auto parent =
      run_command({host_binary(), "--check-config", std::string(NOTIFY_SOURCE_DIR) + "/config/parent.yaml"}, env);
  // No key field anywhere on the parent (the secret's *name* appears, as the ciphertext's label; never a value).
  EXPECT_EQ(parent.output.find("api_key:"), std::string::npos) << parent.output;
  EXPECT_EQ(parent.output.find("BRAZE_API_KEY"), std::string::npos) << parent.output;
  EXPECT_NE(parent.output.find("address: 16:5000"), std::string::npos) << parent.output;
  // The parent holds only a ciphertext file and instance-role credentials, and relays the enclave's KMS calls.
  // (The path comes from BRAZE_KEY_CIPHERTEXT_FILE, whose name says KEY: the dump redacts it, conservatively.)
  EXPECT_NE(parent.output.find("- name: braze.api_key\n      ciphertext_file: "), std::string::npos) << parent.output;
  EXPECT_NE(parent.output.find("aws_credentials: imds"), std::string::npos) << parent.output;
  EXPECT_NE(parent.output.find("upstream: kms.us-east-1.amazonaws.com:443"), std::string::npos) << parent.output;
  auto enclave =
      run_command({host_binary(), "--check-config", std::string(NOTIFY_SOURCE_DIR) + "/config/enclave.yaml"}, env);
  EXPECT_NE(enclave.output.find("allow_plaintext: false"), std::string::npos) << enclave.output;
  EXPECT_NE(enclave.output.find("address: 3:8080"), std::string::npos) << enclave.output;
  EXPECT_NE(enclave.output.find("address: 3:8000"), std::string::npos) << enclave.output;
  // The push providers (their plugins loaded and their blocks checked), each through its own relay port.
  for (const char* expected : {"plugin: fcm", "plugin: apns", "plugin: webhook", "address: 3:8081",
                               "oauth2.googleapis.com: 3:8082", "address: 3:8083", "address: 3:8084",
                               "- name: fcm.service_account", "- name: apns.key", "- name: webhook.webhook_secret"}) {
    EXPECT_NE(enclave.output.find(expected), std::string::npos) << expected << "\n" << enclave.output;
  }
  // No push provider's key either, on the parent: only ciphertext entries, off until their variable names a file.
  for (const char* expected : {"- name: fcm.service_account", "- name: apns.key", "- name: webhook.webhook_secret",
                               "upstream: fcm.googleapis.com:443", "upstream: oauth2.googleapis.com:443",
                               "upstream: api.push.apple.com:443", "upstream: webhook.invalid:443"}) {
    EXPECT_NE(parent.output.find(expected), std::string::npos) << expected << "\n" << parent.output;
  }
  for (const char* absent : {"private_key", "BEGIN PRIVATE KEY", "whsec_"}) {
    EXPECT_EQ(parent.output.find(absent), std::string::npos) << absent << "\n" << parent.output;
  }
  // The operator's choices reach both the parent's relay and the relay run apart: the APNs sandbox, a webhook host.
  auto chosen = env;
  chosen["APNS_HOST"] = "api.sandbox.push.apple.com";
  chosen["WEBHOOK_HOST"] = "hooks.example.com";
  chosen["WEBHOOK_PORT"] = "8443";
  for (const char* f : {"config/parent.yaml", "deploy/relay.yaml"}) {
    auto r = run_command({host_binary(), "--check-config", std::string(NOTIFY_SOURCE_DIR) + "/" + f}, chosen);
    EXPECT_EQ(r.exit_code, 0) << f << "\n" << r.output;
    for (const char* expected : {"upstream: api.sandbox.push.apple.com:443", "address: api.sandbox.push.apple.com",
                                 "upstream: hooks.example.com:8443", "address: hooks.example.com"}) {
      EXPECT_NE(r.output.find(expected), std::string::npos) << f << ": " << expected << "\n" << r.output;
    }
    EXPECT_EQ(r.output.find("api.push.apple.com"), std::string::npos) << f << "\n" << r.output;
  }
  EXPECT_NE(enclave.output.find("attestation: nsm"), std::string::npos) << enclave.output;
  // Without the baked-in key id the enclave config is refused, naming the variable.
  auto unset = run_command({host_binary(), "--check-config", std::string(NOTIFY_SOURCE_DIR) + "/config/enclave.yaml"});
  EXPECT_EQ(unset.exit_code, 78) << unset.output;
  EXPECT_NE(unset.output.find("KMS_KEY_ID"), std::string::npos) << unset.output;
}

TEST(HostCli, RunningWithNsmAttestationOutsideAnEnclaveFailsClearly) {
  TempDir dir;
  HostProcess host(
      "providers: [{plugin: log, config: {output: /dev/null}}]\n"
      "serve: {transport: tcp, listen: '127.0.0.1:0', attestation: nsm}\n");
  auto code = host.wait(20s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 78) << host.output();
  EXPECT_NE(host.output().find("serve.attestation: no /dev/nsm: not inside a Nitro enclave"), std::string::npos)
      << host.output();
}
