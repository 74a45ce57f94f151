// Parent demo → link → enclave → APNs plugin → the fake APNs over HTTP/2, with real notify-host processes, real TLS
// and the key from APNS_KEY_FILE; and the shipped push config with APNs in it.
#include "fake_apns.hpp"
#include "host_process.hpp"
#include "test_pki.hpp"

#include <gtest/gtest.h>

#include <csignal>

using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

const std::string kDevice(64, 'e');

std::map<std::string, std::string> apns_env(const FakeApns& fake, const TestPki& pki, const std::string& key_file) {
  return {{"APNS_KEY_FILE", key_file},        {"APNS_KEY_ID", "KEY1234567"},
          {"APNS_TEAM_ID", "TEAM123456"},     {"APNS_TOPIC", "com.example.app"},
          {"APNS_ENDPOINT", fake.endpoint()}, {"APNS_CA_FILE", pki.ca_cert.string()}};
}

}  // namespace

TEST(ApnsEndToEnd, ParentDemoReachesApnsThroughTheEnclaveWithAKeyFile) {
  TempDir dir;
  auto pki = make_test_pki(dir.path());
  FakeApns fake(pki.server_cert, pki.server_key, "TEAM123456", "KEY1234567", "com.example.app");
  fake.register_devices({kDevice});
  fake.inject({503, "ServiceUnavailable", {}});  // one retry on the way
  auto key_file = dir.write("AuthKey.p8", fake.key_pem());
  auto env = apns_env(fake, pki, key_file.string());
  env["NOTIFY_LOG"] = "trace";
  HostProcess enclave(
      "node: enclave-apns\n"
      "providers:\n"
      "  - plugin: apns\n"
      "    config:\n"
      "      endpoint: ${APNS_ENDPOINT}\n"
      "      key_file: ${APNS_KEY_FILE}\n"
      "      key_id: ${APNS_KEY_ID}\n"
      "      team_id: ${APNS_TEAM_ID}\n"
      "      topic: ${APNS_TOPIC}\n"
      "      ca_file: ${APNS_CA_FILE}\n"
      "      backoff_initial: 20ms\n"
      "serve: {transport: tcp, listen: '127.0.0.1:0'}\n",
      env);
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  HostProcess parent(
      "node: parent-e2e\n"
      "forward: {transport: tcp, address: '" +
          *address +
          "', request_timeout: 20s}\n"
          "demo: {interval: 10ms, count: 3, exit_when_done: true, device_token: " +
          kDevice + "}\n",
      {{"NOTIFY_LOG", "trace"}});
  auto code = parent.wait(90s);
  ASSERT_TRUE(code) << parent.output();
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(parent.process().count("✅ Notification sent successfully!"), 4u) << parent.output() << enclave.output();
  auto pushes = fake.pushes();
  EXPECT_EQ(pushes.size(), 4u);
  // The demo's request_ids are UUIDs: each push carried its own as apns-id, and the parent logged it as the reference.
  for (const auto& p : pushes) {
    EXPECT_NE(parent.output().find("request_id=" + p.apns_id), std::string::npos) << p.apns_id << parent.output();
  }
  EXPECT_TRUE(fake.complaints().empty());
  EXPECT_EQ(enclave.output().find("PRIVATE KEY"), std::string::npos) << "key leaked into the enclave's log";
  enclave.signal(SIGTERM);
  EXPECT_EQ(enclave.wait(20s).value_or(-1), 0);
}

TEST(ApnsEndToEnd, DevPushConfigWithApnsIsValid) {
  TempDir dir;
  auto pki = make_test_pki(dir.path());
  FakeApns fake(pki.server_cert, pki.server_key, "TEAM123456", "KEY1234567", "com.example.app");
  auto key_file = dir.write("AuthKey.p8", fake.key_pem());
  auto env = apns_env(fake, pki, key_file.string());
  env["NOTIFY_PLUGIN_DIR"] = plugin_dir();
  env["WEBHOOK_URL"] = "https://hooks.example/notify";
  auto r = run_command(
      {host_binary(), "--check-config", std::string(NOTIFY_SOURCE_DIR) + "/config/dev/enclave-push.yaml"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("PRIVATE KEY"), std::string::npos);
}
