// Parent demo → link → enclave → FCM plugin → the fake FCM (OAuth + messages:send), with real notify-host processes,
// real TLS and the service account read from FCM_SERVICE_ACCOUNT_FILE; and the shipped push config with FCM in it.
#include "fake_fcm.hpp"
#include "host_process.hpp"
#include "test_pki.hpp"

#include <gtest/gtest.h>

#include <csignal>

using namespace notify::testing;
using namespace std::chrono_literals;

TEST(FcmEndToEnd, ParentDemoReachesFcmThroughTheEnclaveWithAServiceAccountFile) {
  TempDir dir;
  auto pki = make_test_pki(dir.path());
  FakeFcm fake(pki.server_cert, pki.server_key, "e2e-project");
  fake.register_tokens({"device-token-1"});
  fake.inject({503, "UNAVAILABLE", {}});  // one retry on the way
  const std::string account = fake.make_service_account();
  auto account_file = dir.write("service-account.json", account);

  HostProcess enclave(
      "node: enclave-fcm\n"
      "providers:\n"
      "  - plugin: fcm\n"
      "    config:\n"
      "      endpoint: ${FCM_ENDPOINT}\n"
      "      service_account_file: ${FCM_SERVICE_ACCOUNT_FILE}\n"
      "      ca_file: ${FCM_CA_FILE}\n"
      "      backoff_initial: 20ms\n"
      "serve: {transport: tcp, listen: '127.0.0.1:0'}\n",
      {{"FCM_ENDPOINT", fake.endpoint()},
       {"FCM_SERVICE_ACCOUNT_FILE", account_file.string()},
       {"FCM_CA_FILE", pki.ca_cert.string()},
       {"NOTIFY_LOG", "trace"}});
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  HostProcess parent(
      "node: parent-e2e\n"
      "forward: {transport: tcp, address: '" +
          *address +
          "', request_timeout: 20s}\n"
          "demo: {interval: 10ms, count: 3, exit_when_done: true, device_token: device-token-1}\n",
      {{"NOTIFY_LOG", "trace"}});
  auto code = parent.wait(90s);
  ASSERT_TRUE(code) << parent.output();
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(parent.process().count("✅ Notification sent successfully!"), 4u) << parent.output() << enclave.output();
  EXPECT_NE(parent.output().find("reference=projects/e2e-project/messages/"), std::string::npos) << parent.output();
  EXPECT_EQ(fake.sent().size(), 4u);
  EXPECT_EQ(fake.token_exchanges(), 1);
  EXPECT_TRUE(fake.complaints().empty());
  EXPECT_EQ(enclave.output().find("PRIVATE KEY"), std::string::npos) << "key leaked into the enclave's log";
  EXPECT_EQ(enclave.output().find("ya29.fake"), std::string::npos) << "access token leaked into the enclave's log";
  enclave.signal(SIGTERM);
  EXPECT_EQ(enclave.wait(20s).value_or(-1), 0);
}

TEST(FcmEndToEnd, ConfigErrorsNameTheKey) {
  TempDir dir;
  auto missing =
      dir.write("missing.yaml",
                "providers:\n  - plugin: fcm\n    config:\n      service_account_file: /nonexistent/sa.json\n"
                "serve: {listen: '127.0.0.1:0'}\n");
  auto m = run_command({host_binary(), "--check-config", missing.string()});
  EXPECT_NE(m.exit_code, 0) << m.output;
  EXPECT_NE(m.output.find("missing.yaml:4:29: service_account_file: cannot read /nonexistent/sa.json"),
            std::string::npos)
      << m.output;
  auto target = dir.write("target.yaml",
                          "providers:\n  - plugin: fcm\n    config:\n      target: device\n"
                          "serve: {listen: '127.0.0.1:0'}\n");
  auto t = run_command({host_binary(), "--check-config", target.string()});
  EXPECT_NE(t.exit_code, 0) << t.output;
  // The interim `target` key (each external_user_id taken as a token, topic or condition) is gone: notifications
  // carry device_tokens or a topic themselves.
  EXPECT_NE(t.output.find("target.yaml:4:7: "), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("target: unknown key"), std::string::npos) << t.output;
}

TEST(FcmEndToEnd, DevPushConfigWithFcmIsValid) {
  TempDir dir;
  auto pki = make_test_pki(dir.path());
  FakeFcm fake(pki.server_cert, pki.server_key, "p");
  auto account_file = dir.write("sa.json", fake.make_service_account());
  auto r =
      run_command({host_binary(), "--check-config", std::string(NOTIFY_SOURCE_DIR) + "/config/dev/enclave-push.yaml"},
                  {{"NOTIFY_PLUGIN_DIR", plugin_dir()},
                   {"WEBHOOK_URL", "https://hooks.example/notify"},
                   {"FCM_SERVICE_ACCOUNT_FILE", account_file.string()},
                   {"FCM_ENDPOINT", fake.endpoint()},
                   {"FCM_CA_FILE", pki.ca_cert.string()}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("PRIVATE KEY"), std::string::npos);
}
