// The shipped production configs, config/enclave.yaml and config/parent.yaml, as they are: `--check-config` passes
// on them with the plugins they name, and — rewritten only where this machine is not a Nitro instance (vsock -> TCP
// on 127.0.0.1, the NSM -> the development attester, IMDS -> credentials from the environment) — the parent accepts
// a notification on its HTTP API and the enclave delivers it to (a fake) Braze with the key it fetched from (a fake)
// KMS itself. Everything else (endpoints, CA files, key id, ciphertext file, queue path, ingress address, relay) goes
// through the environment variables the shipped files already honour. The rewrite counts what it changes, so a
// config that drifts from what this test runs fails here instead of in production.
#include "dashboard_metrics.hpp"
#include "fake_braze.hpp"
#include "fake_kms.hpp"
#include "host_process.hpp"
#include "http_call.hpp"
#include "metric_page.hpp"
#include "test_pki.hpp"
#include "wait_until.hpp"

#include <notify/toolkit/base64.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

using namespace notify::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = NOTIFY_SOURCE_DIR;
const std::string kBrazeKey = "prod-config-braze-key-5e8d2c7a9b1f";
const std::string kIngressToken = "prod-config-ingress-token-3c9e1a7f";
const FakeKms::Principal kPrincipal{"ASIAPRODCONFIGTEST01", "prod-config-secret-access-key-8a7b6c5d4e3f",
                                    "prod-config-session-token-1q2w3e", false};
const std::string kKeyArn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

// The tests decide every variable the configs read; none may leak in from the environment that runs them.
constexpr const char* kConfigVariables[] = {"NOTIFY_HTTP_TOKEN",
                                            "NOTIFY_HTTP_LISTEN",
                                            "NOTIFY_QUEUE_PATH",
                                            "NOTIFY_RELAY",
                                            "NOTIFY_DEMO",
                                            "NOTIFY_LOG",
                                            "NOTIFY_LOG_LEVEL",
                                            "ENCLAVE_CID",
                                            "ENCLAVE_PORT",
                                            "PROXY_HOST",
                                            "PROXY_PORT",
                                            "AWS_REGION",
                                            "KMS_KEY_ID",
                                            "KMS_ENDPOINT",
                                            "KMS_CA_FILE",
                                            "BRAZE_API_ENDPOINT",
                                            "BRAZE_CA_FILE",
                                            "BRAZE_KEY_CIPHERTEXT_FILE",
                                            "AWS_ACCESS_KEY_ID",
                                            "AWS_SECRET_ACCESS_KEY",
                                            "AWS_SESSION_TOKEN",
                                            "FCM_ENDPOINT",
                                            "FCM_CA_FILE",
                                            "FCM_SERVICE_ACCOUNT_CIPHERTEXT_FILE",
                                            "APNS_ENDPOINT",
                                            "APNS_KEY_ID",
                                            "APNS_TEAM_ID",
                                            "APNS_TOPIC",
                                            "APNS_CA_FILE",
                                            "APNS_HOST",
                                            "APNS_KEY_CIPHERTEXT_FILE",
                                            "WEBHOOK_URL",
                                            "WEBHOOK_CA_FILE",
                                            "WEBHOOK_HOST",
                                            "WEBHOOK_PORT",
                                            "WEBHOOK_SECRET_CIPHERTEXT_FILE",
                                            "FCM_ENABLED",
                                            "APNS_ENABLED",
                                            "WEBHOOK_ENABLED"};
class CleanEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    for (const char* v : kConfigVariables) ::unsetenv(v);
  }
};
[[maybe_unused]] const auto* const kCleanEnvironment =
    ::testing::AddGlobalTestEnvironment(new CleanEnvironment);  // NOLINT: gtest owns it

std::string shipped(const std::string& name) { return read_text(kSource / "config" / name); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// Replaces each whole line matching `pattern` with `replacement` ($1... from the match); returns how many lines.
int rewrite_lines(std::string& text, const std::string& pattern, const std::string& replacement) {
  const std::regex re(pattern);
  int count = 0;
  std::string out;
  for (const auto& line : lines_of(text)) {
    std::smatch m;
    if (std::regex_match(line, m, re)) {
      out += m.format(replacement) + "\n";
      ++count;
    } else {
      out += line + "\n";
    }
  }
  text = std::move(out);
  return count;
}

/// Lines that differ between two texts of the same length in lines (-1 when the lengths differ).
int changed_lines(const std::string& a, const std::string& b) {
  const auto la = lines_of(a);
  const auto lb = lines_of(b);
  if (la.size() != lb.size()) return -1;
  int n = 0;
  for (std::size_t i = 0; i < la.size(); ++i) n += la[i] != lb[i] ? 1 : 0;
  return n;
}

/// config/enclave.yaml, rewritten only to TCP addresses and the development attester.
std::string enclave_on_tcp(std::uint16_t braze_port, std::uint16_t kms_port) {
  const auto original = shipped("enclave.yaml");
  auto text = original;
  // serve.transport and the egress.transport of Braze, FCM, APNs and the webhook.
  EXPECT_EQ(rewrite_lines(text, R"(^(\s+)transport: vsock(\s*#.*)?$)", "$1transport: tcp"), 5);
  // The Braze egress (vsock 3:PROXY_PORT, the parent's relay) straight to the fake Braze.
  EXPECT_EQ(rewrite_lines(text, R"(^(\s+)address: 3:\$\{PROXY_PORT:-8080\}(\s*#.*)?$)",
                          "$1address: 127.0.0.1:" + std::to_string(braze_port)),
            1);
  // The KMS egress (vsock 3:8000, the relay's KMS route) straight to the fake KMS.
  EXPECT_EQ(rewrite_lines(text, R"(^(\s+)egress: \{transport: vsock, address: "3:8000"\}(.*)$)",
                          "$1egress: {transport: tcp, address: \"127.0.0.1:" + std::to_string(kms_port) + "\"}$2"),
            1);
  // FCM (messages and OAuth), APNs and the webhook (relay routes 3:8081..3:8084): unprovisioned here, so they never
  // connect; a closed port on loopback stands in for their routes.
  EXPECT_EQ(rewrite_lines(text, R"(^(\s+)address: "3:808[1-4]"(\s*#.*)?$)", "$1address: \"127.0.0.1:9\""), 3);
  EXPECT_EQ(rewrite_lines(text, R"(^(\s+)hosts: \{oauth2\.googleapis\.com: "3:8082"\}(\s*#.*)?$)",
                          "$1hosts: {oauth2.googleapis.com: \"127.0.0.1:9\"}"),
            1);
  EXPECT_EQ(rewrite_lines(text, R"(^(\s+)listen: any:\$\{ENCLAVE_PORT:-5000\}(\s*#.*)?$)", "$1listen: 127.0.0.1:0"), 1);
  // No /dev/nsm here: the development attester (self-signed documents; the fake KMS accepts them).
  EXPECT_EQ(rewrite_lines(text, R"(^(\s+)attestation: nsm(\s*#.*)?$)", "$1attestation: development"), 1);
  EXPECT_EQ(changed_lines(original, text), 13) << text;
  return text;
}

/// config/parent.yaml, rewritten only to reach the enclave over TCP and to take AWS credentials from the environment.
std::string parent_on_tcp(const std::string& enclave_address) {
  const auto original = shipped("parent.yaml");
  auto text = original;
  EXPECT_EQ(rewrite_lines(text, R"(^(\s+)transport: vsock(\s*#.*)?$)", "$1transport: tcp"), 1);  // forward
  EXPECT_EQ(rewrite_lines(text, R"(^(\s+)address: \$\{ENCLAVE_CID:-16\}:\$\{ENCLAVE_PORT:-5000\}(\s*#.*)?$)",
                          "$1address: '" + enclave_address + "'"),
            1);
  // IMDS is 169.254.169.254: never contacted from a test. The same credential path with AWS_* variables.
  EXPECT_EQ(rewrite_lines(text, R"(^(\s+)aws_credentials: imds(\s*#.*)?$)", "$1aws_credentials: env"), 1);
  EXPECT_EQ(changed_lines(original, text), 3) << text;
  return text;
}

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

std::string check_config(const std::string& file, std::map<std::string, std::string> env, int& exit_code) {
  // NOTIFY_PLUGIN_PATH (set by run_command to the build's plugins) is searched before the configs' plugins.path.
  auto r = run_command({host_binary(), "--check-config", (kSource / "config" / file).string()}, std::move(env));
  exit_code = r.exit_code;
  return r.output;
}

}  // namespace

TEST(ProductionConfig, ShippedFilesPassCheckConfigWithThePluginsTheyName) {
  int code = -1;
  // The enclave image bakes KMS_KEY_ID in (deploy/Dockerfile.enclave); nothing else is needed.
  const auto enclave = check_config("enclave.yaml", {{"KMS_KEY_ID", kKeyArn}}, code);
  EXPECT_EQ(code, 0) << enclave;
  for (const char* expected : {"plugin: braze", "plugin: fcm", "plugin: apns", "plugin: webhook", "address: 3:8081",
                               "oauth2.googleapis.com: 3:8082", "address: 3:8083", "address: 3:8084"}) {
    EXPECT_NE(enclave.find(expected), std::string::npos) << expected << "\n" << enclave;
  }
  EXPECT_NE(enclave.find("ca_file: /etc/ssl/certs/ca-certificates.crt"), std::string::npos) << enclave;

  // The parent's unit provides NOTIFY_HTTP_TOKEN from /etc/notify/parent.env; the rest has production defaults.
  const auto parent = check_config("parent.yaml", {{"NOTIFY_HTTP_TOKEN", kIngressToken}}, code);
  EXPECT_EQ(code, 0) << parent;
  for (const char* expected :
       {"address: 16:5000", "path: /var/lib/notify/queue.db", "listen: 0.0.0.0:8088", "token: <redacted>",
        "aws_credentials: imds", "listen_transport: vsock", "upstream: rest.iad-01.braze.com:443",
        "upstream: kms.us-east-1.amazonaws.com:443", "upstream: fcm.googleapis.com:443",
        "upstream: oauth2.googleapis.com:443", "upstream: api.push.apple.com:443", "upstream: webhook.invalid:443"}) {
    EXPECT_NE(parent.find(expected), std::string::npos) << expected << "\n" << parent;
  }
  EXPECT_EQ(parent.find(kIngressToken), std::string::npos) << "the token is printed";

  // Without the token the parent is refused before anything starts, naming the variable (no open API by default).
  const auto unset = check_config("parent.yaml", {}, code);
  EXPECT_EQ(code, 78) << unset;
  EXPECT_NE(unset.find("environment variable NOTIFY_HTTP_TOKEN is not set"), std::string::npos) << unset;
}

TEST(ProductionConfig, RewrittenOnlyToTcpTheyAcceptAndDeliverANotificationEndToEnd) {
  TempDir dir;
  const auto pki = make_test_pki(dir.path());
  FakeKms::Options ko = FakeKms::Options::over_tls(pki);
  ko.principals = {kPrincipal};
  FakeKms kms(ko);
  FakeBraze braze(FakeBraze::Options::over_tls(pki, kBrazeKey));
  // What `aws kms encrypt --encryption-context secret=braze.api_key` printed on the operator's workstation.
  const auto ciphertext = dir.path() / "braze.api_key.ciphertext";
  std::ofstream(ciphertext) << notify::toolkit::base64_encode(kms.encrypt(FakeKms::kDefaultKeyId, bytes_of(kBrazeKey),
                                                                          {{"secret", "braze.api_key"}}))
                            << "\n";

  HostProcess enclave(enclave_on_tcp(braze.port(), kms.port()), {{"KMS_KEY_ID", kms.key_arn()},
                                                                 {"AWS_REGION", kms.region()},
                                                                 {"KMS_ENDPOINT", kms.url()},
                                                                 {"KMS_CA_FILE", pki.ca_cert.string()},
                                                                 {"BRAZE_API_ENDPOINT", braze.url()},
                                                                 {"BRAZE_CA_FILE", pki.ca_cert.string()},
                                                                 // An image built with FCM on (and APNs off).
                                                                 {"FCM_ENABLED", "true"}});
  const auto enclave_address = enclave.wait_for(R"(link server listening on (127\.0\.0\.1:[0-9]+))", 20s);
  ASSERT_TRUE(enclave_address) << enclave.output();

  HostProcess parent(parent_on_tcp(*enclave_address),
                     {{"NOTIFY_HTTP_TOKEN", kIngressToken},
                      {"NOTIFY_HTTP_LISTEN", "127.0.0.1:0"},
                      {"NOTIFY_QUEUE_PATH", (dir.path() / "queue.db").string()},
                      {"NOTIFY_RELAY", "false"},  // its vsock listeners: the enclave reaches the fakes directly
                      {"BRAZE_KEY_CIPHERTEXT_FILE", ciphertext.string()},
                      {"AWS_ACCESS_KEY_ID", kPrincipal.access_key_id},
                      {"AWS_SECRET_ACCESS_KEY", kPrincipal.secret_access_key},
                      {"AWS_SESSION_TOKEN", kPrincipal.session_token}});
  const auto ingress = parent.wait_for(R"(ingress listening on (127\.0\.0\.1:[0-9]+))", 20s);
  ASSERT_TRUE(ingress) << parent.output();

  // The parent's provision block hands the ciphertext over; the enclave asks KMS with its attestation document.
  ASSERT_TRUE(enclave.wait_for("secret 'braze.api_key' installed from AWS KMS", 60s))
      << enclave.output() << parent.output();

  const std::string body =
      R"({"request_id": "prod-1", "external_user_id": "prod-user-1", "title": "Hello", "message": "From production"})";
  EXPECT_EQ(http_call(*ingress, "POST", "/v1/notifications", body).status, 401);
  EXPECT_EQ(http_call(*ingress, "POST", "/v1/notifications", body, "not-the-token").status, 401);
  const auto accepted = http_call(*ingress, "POST", "/v1/notifications", body, kIngressToken);
  ASSERT_EQ(accepted.status, 202) << accepted.body;

  ASSERT_TRUE(wait_until([&] { return braze.accepted_recipients().count("prod-user-1") == 1; }, 60s))
      << parent.output() << enclave.output();
  const auto requests = braze.requests();
  ASSERT_FALSE(requests.empty());
  for (const auto& r : requests) EXPECT_TRUE(r.authorized) << "Braze saw another key than the one KMS held";

  // The parent records the outcome with Braze's dispatch_id.
  std::string state;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto r = http_call(*ingress, "GET", "/v1/notifications/prod-1", "", kIngressToken);
        if (r.status != 200) return false;
        Poco::JSON::Parser p;
        state = p.parse(r.body).extract<Poco::JSON::Object::Ptr>()->optValue<std::string>("state", "");
        return state == "delivered";
      },
      20s))
      << state;

  // The dashboard and the alert rules shipped in deploy/ find every metric they query on this parent's /metrics —
  // the enclave's too, once the parent's first fetch (forward.enclave_metrics, 5 s) has brought them.
  auto queried = metric_names(dashboard_queries(kSource));
  queried.merge(metric_names(alert_queries(kSource)));
  ASSERT_FALSE(queried.empty());
  HttpReply metrics;
  wait_until(
      [&] {
        metrics = http_call(*ingress, "GET", "/metrics", "", kIngressToken);
        return std::all_of(queried.begin(), queried.end(),
                           [&](const auto& n) { return metric_exposed(metrics.body, n); });
      },
      20s, 250ms);
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  for (const auto& name : queried) EXPECT_TRUE(metric_exposed(metrics.body, name)) << name << "\n" << metrics.body;
  for (const char* name : {"notify_accepted_total", "notify_delivered_total", "notify_link_up"}) {
    EXPECT_EQ(metric_text(metrics.body, name), "1") << name << "\n" << metrics.body;
  }
  // The enclave's view, through the parent (its series labelled source="enclave"): it fetched its key from KMS with
  // an attested Recipient, holds it, and Braze answered its call.
  auto enclave_sample = [&](const std::string& name, std::map<std::string, std::string> labels) {
    labels["source"] = "enclave";
    return metric_text(metrics.body, name, labels).value_or("absent");
  };
  EXPECT_EQ(enclave_sample("notify_enclave_up", {}), "absent") << "notify_enclave_up is the parent's own";
  EXPECT_EQ(enclave_sample("notify_enclave_attestations_total", {{"purpose", "kms"}, {"result", "ok"}}), "1")
      << metrics.body;
  EXPECT_EQ(enclave_sample("notify_enclave_secret_state", {{"name", "braze.api_key"}, {"state", "installed"}}), "1")
      << metrics.body;
  EXPECT_EQ(enclave_sample("notify_provider_calls_total", {{"provider", "braze"}, {"status", "201"}}), "1")
      << metrics.body;

  // Push providers stop nothing when unused: the parent hands over Braze's ciphertext only (the other entries are off
  // while their *_CIPHERTEXT_FILE is unset; Braze delivered above). FCM, on in this image but never provisioned,
  // answers retryable and says why; APNs, off, is no provider at all: rejected by name.
  EXPECT_NE(parent.output().find("KMS provisioning of 1 secret(s) to the enclave"), std::string::npos)
      << parent.output();
  const std::string to_fcm =
      R"({"request_id": "prod-fcm-1", "external_user_id": "fcm-token-1", "title": "Hi", "message": "FCM", "provider": "fcm"})";
  ASSERT_EQ(http_call(*ingress, "POST", "/v1/notifications", to_fcm, kIngressToken).status, 202);
  std::string reason;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto r = http_call(*ingress, "GET", "/v1/notifications/prod-fcm-1", "", kIngressToken);
        if (r.status != 200) return false;
        Poco::JSON::Parser p;
        reason = p.parse(r.body).extract<Poco::JSON::Object::Ptr>()->optValue<std::string>("reason", "");
        return !reason.empty();
      },
      20s))
      << parent.output() << enclave.output();
  EXPECT_NE(reason.find("FCM service account not provisioned (secret 'fcm.service_account')"), std::string::npos)
      << reason;
  const std::string to_apns =
      R"({"request_id": "prod-apns-1", "external_user_id": "ab12", "title": "Hi", "message": "APNs", "provider": "apns"})";
  ASSERT_EQ(http_call(*ingress, "POST", "/v1/notifications", to_apns, kIngressToken).status, 202);
  state.clear();
  reason.clear();
  ASSERT_TRUE(wait_until(
      [&] {
        const auto r = http_call(*ingress, "GET", "/v1/notifications/prod-apns-1", "", kIngressToken);
        if (r.status != 200) return false;
        Poco::JSON::Parser p;
        const auto o = p.parse(r.body).extract<Poco::JSON::Object::Ptr>();
        state = o->optValue<std::string>("state", "");
        reason = o->optValue<std::string>("reason", "");
        return state == "rejected";
      },
      20s))
      << state << " " << reason << "\n"
      << parent.output() << enclave.output();
  EXPECT_NE(reason.find("no provider named 'apns'"), std::string::npos) << reason;
  EXPECT_NE(enclave.output().find("provider 'apns' (apns) is off (enabled: false)"), std::string::npos)
      << enclave.output();

  // The parent never held the key, and it stops cleanly (systemd's SIGTERM).
  EXPECT_EQ(parent.output().find(kBrazeKey), std::string::npos);
  parent.signal(SIGTERM);
  EXPECT_EQ(parent.wait(30s), 0) << parent.output();
}
