// Per-token outcomes end to end, with real notify-host processes: ingress → durable queue → link → enclave → APNs
// plugin → fake APNs over HTTP/2. One notification to three device tokens — one delivered, one 410 Unregistered, one
// 503 and then 200 — is pushed to each device once: the parent's retry carries only the pending token, GET lists the
// invalid one, and notify_invalid_tokens_total counts it. And `provider` picks one of two instances of the plugin.
#include "fake_apns.hpp"
#include "host_process.hpp"
#include "http_call.hpp"
#include "test_pki.hpp"
#include "wait_until.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "ingress-token-apns-tokens-1";
const std::string kDelivered(64, 'a');
const std::string kGone(64, 'b');
const std::string kBusy(64, 'c');
const std::string kOtherApp(64, 'd');

HttpReply call(const std::string& address, const std::string& method, const std::string& path,
               const std::string& body = "") {
  return http_call(address, method, path, body, kToken);
}

Poco::JSON::Object::Ptr status_of(const std::string& ingress, const std::string& id) {
  auto r = call(ingress, "GET", "/v1/notifications/" + id);
  if (r.status != 200) return nullptr;
  return Poco::JSON::Parser().parse(r.body).extract<Poco::JSON::Object::Ptr>();
}

std::string state_of(const std::string& ingress, const std::string& id) {
  auto s = status_of(ingress, id);
  return s ? s->getValue<std::string>("state") : "missing";
}

// One APNs instance of the enclave's config, from its fake.
std::string apns_instance(const std::string& name, const std::string& topic, const std::string& key_file,
                          const FakeApns& fake, const TestPki& pki) {
  return "  - name: " + name +
         "\n"
         "    plugin: apns\n"
         "    config:\n"
         "      endpoint: " +
         fake.endpoint() +
         "\n"
         "      key_file: " +
         key_file +
         "\n"
         "      key_id: KEY1234567\n"
         "      team_id: TEAM123456\n"
         "      topic: " +
         topic +
         "\n"
         "      ca_file: " +
         pki.ca_cert.string() +
         "\n"
         // The plugin does not retry itself: the 503 goes back to the parent, whose retry is what is tested.
         "      max_attempts: 1\n";
}

}  // namespace

TEST(ApnsTokensEndToEnd, OnlyPendingTokensAreRetriedAndInvalidOnesAreKeptAndCounted) {
  TempDir dir;
  auto pki = make_test_pki(dir.path());
  FakeApns app1(pki.server_cert, pki.server_key, "TEAM123456", "KEY1234567", "com.example.one");
  FakeApns app2(pki.server_cert, pki.server_key, "TEAM123456", "KEY1234567", "com.example.two");
  app1.register_devices({kDelivered, kGone, kBusy});
  app1.unregister(kGone);
  app1.inject_for(kBusy, {503, "ServiceUnavailable", {}});
  app2.register_devices({kOtherApp});
  auto key1 = dir.write("app1.p8", app1.key_pem());
  auto key2 = dir.write("app2.p8", app2.key_pem());

  HostProcess enclave(
      "node: enclave-tokens\n"
      "providers:\n" +
      apns_instance("apns-app1", "com.example.one", key1.string(), app1, pki) + "    default: true\n" +
      apns_instance("apns-app2", "com.example.two", key2.string(), app2, pki) +
      "serve: {transport: tcp, listen: '127.0.0.1:0'}\n");
  auto enclave_address = enclave.wait_listening();
  ASSERT_TRUE(enclave_address) << enclave.output();
  HostProcess parent(
      "node: parent-tokens\n"
      "forward: {transport: tcp, address: '" +
          *enclave_address +
          "', request_timeout: 10s, backoff_initial: 20ms, backoff_max: 200ms}\n"
          "queue: {path: '" +
          (dir.path() / "queue.db").string() +
          "', max_attempts: 5, backoff_initial: 100ms, backoff_max: 200ms, poll_interval: 20ms}\n"
          "ingress: {listen: '127.0.0.1:0', token: '${INGRESS_TOKEN}'}\n",
      {{"INGRESS_TOKEN", kToken}});
  auto ingress = parent.wait_for(R"(ingress listening on (\S+))", 20s);
  ASSERT_TRUE(ingress) << parent.output();

  const std::string body = R"({"notifications": [
      {"request_id": "three-tokens", "device_tokens": [")" +
                           kDelivered + R"(", ")" + kGone + R"(", ")" + kBusy + R"("],
       "title": "Score", "message": "2-1", "ttl": 600, "priority": "high", "collapse_key": "match-7"},
      {"request_id": "other-app", "device_tokens": [")" +
                           kOtherApp + R"("], "message": "for app two", "provider": "apns-app2"}]})";
  auto posted = call(*ingress, "POST", "/v1/notifications", body);
  ASSERT_EQ(posted.status, 202) << posted.body;
  ASSERT_TRUE(wait_until([&] { return state_of(*ingress, "three-tokens") == "delivered"; }, 30s, 50ms))
      << state_of(*ingress, "three-tokens") << "\n"
      << parent.output() << enclave.output();
  ASSERT_TRUE(wait_until([&] { return state_of(*ingress, "other-app") == "delivered"; }, 30s, 50ms))
      << parent.output() << enclave.output();

  // The fake: every device was pushed once; the busy one was asked twice, the second time alone.
  std::map<std::string, int> delivered;
  for (const auto& p : app1.pushes()) ++delivered[p.device_token];
  EXPECT_EQ(delivered, (std::map<std::string, int>{{kDelivered, 1}, {kBusy, 1}}));
  const auto requests = app1.requests();
  ASSERT_EQ(requests.size(), 4u) << "three tokens, then the retry of the pending one only";
  EXPECT_EQ(std::count(requests.begin(), requests.end(), kDelivered), 1);
  EXPECT_EQ(std::count(requests.begin(), requests.end(), kGone), 1);
  EXPECT_EQ(std::count(requests.begin(), requests.end(), kBusy), 2);
  EXPECT_EQ(requests.back(), kBusy);
  for (const auto& p : app1.pushes()) {  // the notification's push fields reached APNs
    EXPECT_EQ(p.priority, "10");
    EXPECT_EQ(p.collapse_id, "match-7");
    EXPECT_FALSE(p.expiration.empty());
  }
  EXPECT_TRUE(app1.complaints().empty());

  // The second instance (its own key and topic) got its notification, and the first did not.
  ASSERT_EQ(app2.pushes().size(), 1u);
  EXPECT_EQ(app2.pushes()[0].device_token, kOtherApp);
  EXPECT_EQ(std::count(requests.begin(), requests.end(), kOtherApp), 0);
  EXPECT_TRUE(app2.complaints().empty());

  // GET lists every token's state and the invalid one apart.
  auto status = status_of(*ingress, "three-tokens");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->getValue<int>("attempts"), 2);
  auto invalid = status->getArray("invalid_tokens");
  ASSERT_TRUE(invalid);
  ASSERT_EQ(invalid->size(), 1u);
  EXPECT_EQ(invalid->getElement<std::string>(0), kGone);
  auto tokens = status->getArray("tokens");
  ASSERT_TRUE(tokens);
  ASSERT_EQ(tokens->size(), 3u);
  std::map<std::string, std::string> states;
  for (std::size_t i = 0; i < tokens->size(); ++i) {
    auto t = tokens->getObject(static_cast<unsigned>(i));
    states[t->getValue<std::string>("token")] = t->getValue<std::string>("state");
  }
  EXPECT_EQ(states, (std::map<std::string, std::string>{
                        {kDelivered, "delivered"}, {kGone, "invalid_token"}, {kBusy, "delivered"}}));
  EXPECT_NE(tokens->getObject(1)->getValue<std::string>("reason").find("Unregistered"), std::string::npos);

  // The metric counts the invalid token once.
  auto metrics = call(*ingress, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("\nnotify_invalid_tokens_total 1\n"), std::string::npos) << metrics.body;
  // Device tokens are not logged in full at info level.
  EXPECT_EQ(parent.output().find(kGone), std::string::npos);
  EXPECT_EQ(enclave.output().find(kGone), std::string::npos);
}
