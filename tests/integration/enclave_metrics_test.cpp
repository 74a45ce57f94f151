// The enclave's metrics reach the parent's /metrics over the link (a production enclave has no port of its own):
// after Braze answers 429, 201 and 400, the parent shows the enclave's calls by status, its retries, latencies,
// results and secret state, each labelled source="enclave" with the enclave's node, and notify_enclave_up 1; with
// the enclave gone, notify_enclave_up drops to 0 and the enclave's series leave the page. `notify-ctl enclave status`
// shows the same calls by status.
#include "fake_braze.hpp"
#include "host_process.hpp"
#include "http_call.hpp"
#include "metric_page.hpp"
#include "test_pki.hpp"
#include "wait_until.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <optional>
#include <regex>
#include <sstream>

using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "metrics-ingress-token-7f6e5d4c";

std::string one(const std::string& id) {
  return R"({"request_id": ")" + id + R"(", "external_user_id": "user-1", "title": "T", "message": "M"})";
}

}  // namespace

TEST(EnclaveMetrics, BrazeCallsOfEachStatusAppearOnTheParentsMetricsAndVanishWithTheEnclave) {
  TempDir dir;
  auto pki = make_test_pki(dir.path());
  auto fo = FakeBraze::Options::over_tls(pki, "metrics-braze-key-0123456789");
  FakeBraze fake(fo);
  FakeBraze::Injection limited;
  limited.status = 429;
  fake.inject(limited);  // the first call: rate-limited, retried by the plugin; the second is answered 201
  HostProcess enclave(
      "node: enclave-metrics\n"
      "providers:\n  - plugin: braze\n    config: {endpoint: '" +
          fake.url() + "', api_key: '${BRAZE_API_KEY}', ca_file: '" + pki.ca_cert.string() +
          "', max_attempts: 2, backoff_initial: 50ms, backoff_max: 100ms}\n"
          "serve: {transport: tcp, listen: '127.0.0.1:0'}\n",
      {{"BRAZE_API_KEY", fo.api_key}});
  const auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  HostProcess parent(
      "node: parent-metrics\n"
      "forward: {transport: tcp, address: '" +
          *address +
          "', backoff_initial: 20ms, backoff_max: 200ms, enclave_metrics: 250ms}\n"
          "queue: {path: '" +
          (dir.path() / "q.db").string() +
          "', max_attempts: 1, poll_interval: 20ms}\n"
          "ingress: {listen: '127.0.0.1:0', token: '${INGRESS_TOKEN}'}\n",
      {{"INGRESS_TOKEN", kToken}});
  const auto ingress = parent.wait_for(R"(ingress listening on (\S+))", 20s);
  ASSERT_TRUE(ingress) << parent.output();
  auto metrics = [&] { return http_call(*ingress, "GET", "/metrics", "", kToken).body; };
  auto state = [&](const std::string& id) { return http_call(*ingress, "GET", "/v1/notifications/" + id, "", kToken); };

  ASSERT_EQ(http_call(*ingress, "POST", "/v1/notifications", one("m-1"), kToken).status, 202);
  ASSERT_TRUE(wait_until([&] { return state("m-1").body.find("\"delivered\"") != std::string::npos; }, 20s))
      << state("m-1").body;
  FakeBraze::Injection bad;
  bad.status = 400;
  bad.body = R"({"message": "Invalid campaign_id"})";
  fake.inject(bad);
  ASSERT_EQ(http_call(*ingress, "POST", "/v1/notifications", one("m-2"), kToken).status, 202);
  ASSERT_TRUE(wait_until([&] { return state("m-2").body.find("\"rejected\"") != std::string::npos; }, 20s))
      << state("m-2").body;

  const std::map<std::string, std::string> braze{
      {"provider", "braze"}, {"source", "enclave"}, {"node", "enclave-metrics"}};
  auto with = [&](std::map<std::string, std::string> more) {
    more.insert(braze.begin(), braze.end());
    return more;
  };
  std::string page;
  // Fetched every 250 ms (a snapshot older than 750 ms is dropped): wait for the one that has the last call in it.
  ASSERT_TRUE(wait_until(
      [&] {
        page = metrics();
        return metric_value(page, "notify_provider_calls_total", with({{"status", "400"}})) == 1.0;
      },
      30s))
      << page;
  EXPECT_EQ(metric_value(page, "notify_provider_calls_total", with({{"status", "429"}})), 1.0) << page;
  EXPECT_EQ(metric_value(page, "notify_provider_calls_total", with({{"status", "201"}})), 1.0) << page;
  EXPECT_EQ(metric_value(page, "notify_provider_retries_total", braze), 1.0) << page;
  EXPECT_EQ(metric_value(page, "notify_provider_call_duration_seconds_count", braze), 3.0) << page;
  EXPECT_EQ(metric_value(page, "notify_provider_call_duration_seconds_bucket", with({{"le", "+Inf"}})), 3.0) << page;
  EXPECT_EQ(metric_value(page, "notify_enclave_notifications_total", with({{"outcome", "delivered"}})), 1.0) << page;
  EXPECT_EQ(metric_value(page, "notify_enclave_notifications_total", with({{"outcome", "rejected"}})), 1.0) << page;
  const std::map<std::string, std::string> secret{{"name", "braze.api_key"}, {"source", "enclave"}};
  auto secret_in = [&](const std::string& s) {
    auto l = secret;
    l["state"] = s;
    return metric_value(page, "notify_enclave_secret_state", l);
  };
  EXPECT_EQ(secret_in("installed"), 1.0) << page;
  EXPECT_EQ(secret_in("missing"), 0.0) << page;
  EXPECT_EQ(metric_value(page, "notify_enclave_up", {}), 1.0) << page;
  EXPECT_EQ(metric_value(page, "notify_link_up", {}), 1.0) << page;
  // The parent's own series are still there, unlabelled.
  EXPECT_EQ(metric_value(page, "notify_delivered_total", {}), 1.0) << page;
  EXPECT_EQ(page.find(fo.api_key), std::string::npos) << "the key is on the metrics page";
  EXPECT_EQ(page.find(R"(provider="tcp")"), std::string::npos) << "a transport shows as a provider\n" << page;
  // What an operator on the parent sees: the provider's answers since the enclave started.
  const auto status = run_command({NOTIFY_CTL_BIN, "enclave", "status", "--address", *address, "--transport", "tcp"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("calls braze: 201 x 1, 400 x 1, 429 x 1"), std::string::npos) << status.output;

  enclave.signal(SIGKILL);
  ASSERT_TRUE(wait_until(
      [&] {
        page = metrics();
        return metric_value(page, "notify_enclave_up", {}) == 0.0;
      },
      30s))
      << page;
  EXPECT_EQ(page.find("source=\"enclave\""), std::string::npos) << "stale enclave series stay on the page\n" << page;
}
