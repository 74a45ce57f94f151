// Parent → link → enclave → webhook plugin → a verifying Standard Webhooks receiver, with real notify-host processes
// and real TLS; and the plugin's config errors as an operator sees them.
#include "fake_webhook_receiver.hpp"
#include "host_process.hpp"
#include "test_pki.hpp"

#include <gtest/gtest.h>

#include <csignal>

using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

const std::string kSecret = "whsec_ZTJlLXdlYmhvb2stc2VjcmV0LTdjMWQyZTNmNGE1YjZjN2Q=";

std::string enclave_yaml(const FakeWebhookReceiver& receiver, const TestPki& pki) {
  return "node: enclave-webhook\n"
         "providers:\n"
         "  - plugin: webhook\n"
         "    config:\n"
         "      url: " +
         receiver.url() +
         "\n"
         "      webhook_secret: ${WEBHOOK_SECRET}\n"
         "      ca_file: " +
         pki.ca_cert.string() +
         "\n"
         "      backoff_initial: 20ms\n"
         "      backoff_max: 100ms\n"
         "serve: {transport: tcp, listen: '127.0.0.1:0'}\n";
}

std::string parent_yaml(const std::string& address, int count) {
  return "node: parent-e2e\n"
         "forward: {transport: tcp, address: '" +
         address +
         "', request_timeout: 20s}\n"
         "demo: {interval: 10ms, count: " +
         std::to_string(count) + ", exit_when_done: true}\n";
}

}  // namespace

TEST(WebhookEndToEnd, ParentDemoReachesTheReceiverSignedThroughTheEnclave) {
  TempDir dir;
  auto pki = make_test_pki(dir.path());
  FakeWebhookReceiver receiver(pki.server_cert, pki.server_key, kSecret);
  receiver.inject(HttpsTestServer::Reply{503, {}, "busy", {}, false});  // one retry on the way

  HostProcess enclave(enclave_yaml(receiver, pki), {{"WEBHOOK_SECRET", kSecret}, {"NOTIFY_LOG", "trace"}});
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  constexpr int kPeriodic = 5;
  HostProcess parent(parent_yaml(*address, kPeriodic), {{"NOTIFY_LOG", "trace"}});
  auto code = parent.wait(90s);
  ASSERT_TRUE(code) << parent.output();
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(parent.process().count("✅ Notification sent successfully!"), static_cast<std::size_t>(kPeriodic + 1))
      << parent.output() << enclave.output();

  auto accepted = receiver.accepted();
  EXPECT_EQ(accepted.size(), static_cast<std::size_t>(kPeriodic + 1));
  for (const auto& [id, n] : accepted) EXPECT_EQ(n, 1) << id;
  for (const auto& d : receiver.deliveries()) EXPECT_TRUE(d.verified) << d.id;
  // The reference the parent logs is the webhook-id, i.e. the request_id the receiver saw.
  EXPECT_NE(parent.output().find("reference=" + accepted.begin()->first), std::string::npos) << parent.output();
  const std::string secret_body = kSecret.substr(6);
  EXPECT_EQ(enclave.output().find(secret_body), std::string::npos) << "secret leaked into the enclave's log";
  EXPECT_EQ(parent.output().find(secret_body), std::string::npos);
  enclave.signal(SIGTERM);
  EXPECT_EQ(enclave.wait(20s).value_or(-1), 0);
}

TEST(WebhookEndToEnd, CheckConfigRedactsTheSecretAndNamesBadKeys) {
  TempDir dir;
  auto good = dir.write("good.yaml",
                        "providers:\n  - plugin: webhook\n    config:\n      url: https://hooks.example/n\n"
                        "      webhook_secret: ${WEBHOOK_SECRET}\nserve: {listen: '127.0.0.1:0'}\n");
  auto r = run_command({host_binary(), "--check-config", good.string()}, {{"WEBHOOK_SECRET", kSecret}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(kSecret.substr(6)), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("webhook_secret: <redacted>"), std::string::npos) << r.output;

  auto http = dir.write("http.yaml",
                        "providers:\n  - plugin: webhook\n    config:\n      url: http://hooks.example/n\n"
                        "serve: {listen: '127.0.0.1:0'}\n");
  auto h = run_command({host_binary(), "--check-config", http.string()});
  EXPECT_EQ(h.exit_code, 78) << h.output;
  EXPECT_NE(h.output.find("http.yaml:4:12: url: must be https://"), std::string::npos) << h.output;

  auto zero = dir.write("zero.yaml",
                        "providers:\n  - plugin: webhook\n    config:\n      url: https://hooks.example/n\n"
                        "      concurrency: 0\nserve: {listen: '127.0.0.1:0'}\n");
  auto z = run_command({host_binary(), "--check-config", zero.string()});
  EXPECT_EQ(z.exit_code, 78) << z.output;
  EXPECT_NE(z.output.find("zero.yaml:5:20: concurrency: must be 1..1024, not 0"), std::string::npos) << z.output;
}

TEST(WebhookEndToEnd, DevPushConfigInTheRepositoryIsValid) {
  auto r =
      run_command({host_binary(), "--check-config", std::string(NOTIFY_SOURCE_DIR) + "/config/dev/enclave-push.yaml"},
                  {{"NOTIFY_PLUGIN_DIR", plugin_dir()},
                   {"WEBHOOK_URL", "https://hooks.example/notify"},
                   {"WEBHOOK_SECRET", kSecret}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(kSecret.substr(6)), std::string::npos);
}

// Production's egress path, on TCP: the enclave's webhook plugin connects to the parent's relay, which copies bytes to
// the allowlisted receiver; TLS runs end to end from the enclave (the certificate is checked against the url's host),
// so the relay only ever carries ciphertext.
TEST(WebhookEndToEnd, EgressThroughTheParentsRelayCarriesTlsEndToEnd) {
  TempDir dir;
  auto pki = make_test_pki(dir.path());
  FakeWebhookReceiver receiver(pki.server_cert, pki.server_key, kSecret);
  const std::string upstream = "127.0.0.1:" + std::to_string(receiver.port());
  HostProcess relay_host(
      "node: parent-relay\n"
      "relay:\n"
      "  listen_transport: tcp\n"
      "  upstream_transport: tcp\n"
      "  routes: [{listen: '127.0.0.1:0', upstream: '" +
      upstream +
      "'}]\n"
      "  allowlist: [{address: 127.0.0.1, port: " +
      std::to_string(receiver.port()) + "}]\n");
  auto relay_address = relay_host.wait_for(R"(relay listening on (\S+))", 20s);
  ASSERT_TRUE(relay_address) << relay_host.output();

  HostProcess enclave(
      "node: enclave-relay\n"
      "providers:\n"
      "  - plugin: webhook\n"
      "    config:\n"
      "      url: " +
          receiver.url() +
          "\n"
          "      webhook_secret: ${WEBHOOK_SECRET}\n"
          "      ca_file: " +
          pki.ca_cert.string() +
          "\n"
          "      egress: {transport: tcp, address: '" +
          *relay_address +
          "'}\n"
          "serve: {transport: tcp, listen: '127.0.0.1:0'}\n",
      {{"WEBHOOK_SECRET", kSecret}});
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  HostProcess parent(parent_yaml(*address, 3));
  auto code = parent.wait(60s);
  ASSERT_TRUE(code);
  EXPECT_EQ(parent.process().count("✅ Notification sent successfully!"), 4u)
      << parent.output() << enclave.output() << relay_host.output();
  EXPECT_EQ(receiver.accepted().size(), 4u);
  EXPECT_EQ(relay_host.output().find(kSecret.substr(6)), std::string::npos);
}
