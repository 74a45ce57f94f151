// Parent → link → enclave → Braze plugin → fake Braze, with real notify-host processes and real TLS.
#include "fake_braze.hpp"
#include "host_process.hpp"
#include "test_pki.hpp"

#include <gtest/gtest.h>

#include <csignal>

using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

const std::string kKey = "e2e-braze-key-7c1d2e3f4a5b6c7d";

std::string enclave_yaml(const FakeBraze& fake, const TestPki& pki) {
  return "node: enclave-e2e\n"
         "providers:\n"
         "  - plugin: braze\n"
         "    config:\n"
         "      endpoint: " +
         fake.url() +
         "\n"
         "      api_key: ${BRAZE_API_KEY}\n"
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

TEST(BrazeEndToEnd, ParentDemoReachesFakeBrazeThroughTheEnclaveWithTheRightKey) {
  TempDir dir;
  auto pki = make_test_pki(dir.path());
  auto fo = FakeBraze::Options::over_tls(pki, kKey);
  FakeBraze fake(fo);
  // Some requests are rate limited or fail: every notification must still be delivered exactly once.
  FakeBraze::Injection limited;
  limited.status = 429;
  limited.headers = {{"x-ratelimit-reset", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                              std::chrono::system_clock::now().time_since_epoch())
                                                              .count())}};
  fake.inject(limited);
  FakeBraze::Injection unavailable;
  unavailable.status = 503;
  unavailable.body = "upstream unavailable";
  fake.inject(unavailable);

  HostProcess enclave(enclave_yaml(fake, pki), {{"BRAZE_API_KEY", kKey}, {"NOTIFY_LOG", "trace"}});
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  constexpr int kPeriodic = 10;
  HostProcess parent(parent_yaml(*address, kPeriodic), {{"NOTIFY_LOG", "trace"}});
  auto code = parent.wait(90s);
  ASSERT_TRUE(code) << parent.output();
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(parent.process().count("✅ Notification sent successfully!"), static_cast<std::size_t>(kPeriodic + 1))
      << parent.output() << enclave.output();
  EXPECT_NE(parent.output().find("reference=fake-dispatch-"), std::string::npos);

  int accepted = 0;
  for (const auto& r : fake.requests()) {
    EXPECT_EQ(r.path, "/messages/send");
    if (r.status == 201) {
      ++accepted;
      EXPECT_TRUE(r.authorized);
    }
  }
  EXPECT_EQ(accepted, kPeriodic + 1);  // exactly once each, despite the 429 and the 503
  EXPECT_EQ(enclave.output().find(kKey), std::string::npos) << "key leaked into the enclave's log";
  EXPECT_EQ(parent.output().find(kKey), std::string::npos);
  enclave.signal(SIGTERM);
  EXPECT_EQ(enclave.wait(20s).value_or(-1), 0);
}

TEST(BrazeEndToEnd, CheckConfigRedactsTheKeyAndRefusesPlainHttpWithoutOptIn) {
  TempDir dir;
  auto good = dir.write("good.yaml",
                        "providers:\n  - plugin: braze\n    config:\n      endpoint: https://rest.iad-01.braze.com\n"
                        "      api_key: ${BRAZE_API_KEY}\nserve: {listen: '127.0.0.1:0'}\n");
  auto r = run_command({host_binary(), "--check-config", good.string()}, {{"BRAZE_API_KEY", kKey}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(kKey), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("api_key: <redacted>"), std::string::npos) << r.output;

  auto http = dir.write("http.yaml",
                        "providers:\n  - plugin: braze\n    config:\n      endpoint: http://127.0.0.1:9\n"
                        "serve: {listen: '127.0.0.1:0'}\n");
  auto h = run_command({host_binary(), "--check-config", http.string()});
  EXPECT_EQ(h.exit_code, 78) << h.output;
  EXPECT_NE(h.output.find("http.yaml:4:17: endpoint: http:// needs allow_insecure_http: true"), std::string::npos)
      << h.output;
}

TEST(BrazeEndToEnd, DevBrazeConfigInTheRepositoryIsValid) {
  auto r =
      run_command({host_binary(), "--check-config", std::string(NOTIFY_SOURCE_DIR) + "/config/dev/enclave-braze.yaml"},
                  {{"NOTIFY_PLUGIN_DIR", plugin_dir()},
                   {"BRAZE_API_ENDPOINT", "https://rest.iad-01.braze.com"},
                   {"BRAZE_API_KEY", kKey}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(kKey), std::string::npos);
}

// Production's egress path, on TCP: the enclave's Braze plugin connects to the parent's relay, which copies bytes to
// the allowlisted Braze endpoint; TLS runs end to end from the enclave, so the relay only ever sees ciphertext.
TEST(BrazeEndToEnd, EgressThroughTheParentsRelayCarriesTlsEndToEnd) {
  TempDir dir;
  auto pki = make_test_pki(dir.path());
  auto fo = FakeBraze::Options::over_tls(pki, kKey);
  FakeBraze fake(fo);
  const std::string upstream = "127.0.0.1:" + std::to_string(fake.port());

  HostProcess relay_host(
      "node: parent-relay\n"
      "relay:\n"
      "  listen_transport: tcp\n"
      "  upstream_transport: tcp\n"
      "  routes: [{listen: '127.0.0.1:0', upstream: '" +
      upstream +
      "'}]\n"
      "  allowlist: [{address: 127.0.0.1, port: " +
      std::to_string(fake.port()) + "}]\n");
  auto relay_address = relay_host.wait_for(R"(relay listening on (\S+))", 20s);
  ASSERT_TRUE(relay_address) << relay_host.output();

  HostProcess enclave(
      "node: enclave-relay\n"
      "providers:\n"
      "  - plugin: braze\n"
      "    config:\n"
      "      endpoint: " +
          fake.url() +
          "\n"
          "      api_key: ${BRAZE_API_KEY}\n"
          "      ca_file: " +
          pki.ca_cert.string() +
          "\n"
          "      egress: {transport: tcp, address: '" +
          *relay_address +
          "'}\n"
          "serve: {transport: tcp, listen: '127.0.0.1:0'}\n",
      {{"BRAZE_API_KEY", kKey}});
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  HostProcess parent(parent_yaml(*address, 3));
  auto code = parent.wait(60s);
  ASSERT_TRUE(code);
  EXPECT_EQ(parent.process().count("✅ Notification sent successfully!"), 4u)
      << parent.output() << enclave.output() << relay_host.output();
  int authorized = 0;
  for (const auto& r : fake.requests()) authorized += r.authorized ? 1 : 0;
  EXPECT_EQ(authorized, 4);
  EXPECT_EQ(relay_host.output().find(kKey), std::string::npos);
}

TEST(BrazeEndToEnd, RelayRefusesAnUpstreamThatIsNotAllowlisted) {
  TempDir dir;
  auto cfg = dir.write("relay.yaml",
                       "relay:\n"
                       "  listen_transport: tcp\n"
                       "  upstream_transport: tcp\n"
                       "  routes: [{listen: '127.0.0.1:0', upstream: 'evil.example:443'}]\n"
                       "  allowlist: [{address: rest.iad-01.braze.com, port: 443}]\n");
  auto r = run_command({host_binary(), "--check-config", cfg.string()});
  EXPECT_EQ(r.exit_code, 78) << r.output;
  EXPECT_NE(r.output.find("evil.example:443 refused: not on the allowlist"), std::string::npos) << r.output;
}
