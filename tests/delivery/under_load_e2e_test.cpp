// Failures in the middle of a load, through real hosts: the enclave SIGKILLed while batches are at a slow Braze, and
// the parent's Redis killed and restarted while notifications are posted. Nothing accepted is lost; what is pushed
// twice is bounded by what was at the provider when the enclave died, counted by the fake Braze and reported.
#include "fake_braze.hpp"
#include "host_process.hpp"
#include "http_call.hpp"
#include "metric_page.hpp"
#include "redis_server.hpp"
#include "test_pki.hpp"
#include "wait_until.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "under-load-token-5e6f7a8b";

std::string batch_body(const std::string& tag, int first, int count) {
  std::string body = R"({"notifications": [)";
  for (int i = first; i < first + count; ++i) {
    body += std::string(i > first ? "," : "") + R"({"request_id": ")" + tag + "-" + std::to_string(i) +
            R"(", "external_user_id": ")" + tag + "-user-" + std::to_string(i) +
            R"(", "title": "Load", "message": "Under load"})";
  }
  return body + "]}";
}

std::size_t metric(const std::string& ingress, const std::string& name) {
  return static_cast<std::size_t>(
      metric_value(http_call(ingress, "GET", "/metrics", "", kToken).body, name).value_or(0));
}

// An enclave with the Braze plugin in front of the fake Braze (TLS), and a parent with an ingress and a SQLite queue
// in front of the enclave. The enclave keeps its port across kill_enclave_and_restart(), as a restarted enclave does.
struct BrazeTopology {
  TempDir dir;
  TestPki pki = make_test_pki(dir.path());
  FakeBraze::Options braze_options = FakeBraze::Options::over_tls(pki, "under-load-key-0123456789abcdef");
  FakeBraze fake{braze_options};
  int pool = 4;
  std::string port = "0";
  std::unique_ptr<HostProcess> enclave, parent;
  std::string ingress;

  /// Starts both hosts; `queue` is the parent's queue settings after its path.
  void start(int braze_pool, const std::string& request_timeout, const std::string& queue) {
    pool = braze_pool;
    start_enclave();
    const auto address = "127.0.0.1:" + port;
    parent = std::make_unique<HostProcess>("node: parent-under-load\nforward: {transport: tcp, address: '" + address +
                                               "', request_timeout: " + request_timeout +
                                               ", backoff_initial: 20ms, backoff_max: 200ms}\nqueue: {path: '" +
                                               (dir.path() / "q.db").string() + "', " + queue +
                                               "}\ningress: {listen: '127.0.0.1:0', token: '${INGRESS_TOKEN}'}\n",
                                           std::map<std::string, std::string>{{"INGRESS_TOKEN", kToken}});
    ingress = parent->wait_for(R"(ingress listening on (\S+))", 20s).value_or("");
  }
  void kill_enclave_and_restart() {
    enclave->signal(SIGKILL);
    enclave->wait(10s);
    start_enclave();
  }

 private:
  void start_enclave() {
    enclave = std::make_unique<HostProcess>(
        "node: enclave-under-load\nproviders:\n  - plugin: braze\n    config: {endpoint: '" + fake.url() +
            "', api_key: '${BRAZE_API_KEY}', ca_file: '" + pki.ca_cert.string() +
            "', pool_size: " + std::to_string(pool) + "}\nserve: {transport: tcp, listen: '127.0.0.1:" + port + "'}\n",
        std::map<std::string, std::string>{{"BRAZE_API_KEY", braze_options.api_key}});
    const auto address = enclave->wait_listening().value_or("");
    if (port == "0" && !address.empty()) port = address.substr(address.rfind(':') + 1);
    EXPECT_FALSE(address.empty()) << enclave->output();
  }
};

}  // namespace

// The enclave dies while `window` batches are at a Braze that takes 400 ms per call, and comes back on the same
// port. Every notification is delivered; the ones pushed twice are at most those whose Braze call was in flight when
// it died (the enclave's memory of them died with it, and the parent re-sends what it has no result for).
TEST(UnderLoad, EnclaveKilledWithCallsAtASlowBrazeLosesNothingAndRepeatsAtMostThoseCalls) {
  BrazeTopology t;
  auto& fake = t.fake;
  fake.set_latency(400ms);
  constexpr int kPool = 4, kBatch = 10, kCount = 400;
  t.start(kPool, "20s",
          "batch_size: " + std::to_string(kBatch) + ", window: " + std::to_string(kPool) +
              ", max_attempts: 50, backoff_initial: 50ms, backoff_max: 200ms, lease: 30s, poll_interval: 20ms");
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  for (int first = 0; first < kCount; first += 50) {
    ASSERT_EQ(http_call(t.ingress, "POST", "/v1/notifications", batch_body("kill", first, 50), kToken).status, 202);
  }
  // Kill once Braze has answered some calls and is busy with more.
  ASSERT_TRUE(wait_until([&] { return fake.requests().size() >= 8; }, 30s));
  t.kill_enclave_and_restart();
  const auto at_kill = fake.requests().size();

  ASSERT_TRUE(wait_until([&] { return metric(t.ingress, "notify_delivered_total") >= kCount; }, 120s, 100ms))
      << "delivered " << metric(t.ingress, "notify_delivered_total") << " of " << kCount << "\n"
      << t.parent->output();
  const auto accepted = fake.accepted_recipients();
  int twice = 0, missing = 0;
  for (int i = 0; i < kCount; ++i) {
    const auto it = accepted.find("kill-user-" + std::to_string(i));
    if (it == accepted.end()) {
      ++missing;
      continue;
    }
    twice += it->second > 1 ? 1 : 0;
  }
  std::cout << "[ killed  ] enclave SIGKILLed after " << at_kill << " Braze calls had arrived; " << kCount
            << " notifications delivered with " << fake.requests().size() << " Braze calls; " << twice
            << " pushed twice (bound: " << kPool << " calls in flight x " << kBatch << " = " << kPool * kBatch << ")\n";
  EXPECT_EQ(missing, 0);
  EXPECT_LE(twice, kPool * kBatch) << "more pushed twice than the calls in flight at the provider could explain";
}

// Results as they happen (link 2.4): one batch of two notifications that Braze takes in two calls; the first call to
// arrive is held at Braze, the other answers. The parent stores the answered one while the held one is still at Braze
// (GET shows it delivered), so when the enclave is killed only the held one is sent again.
TEST(UnderLoad, EachBrazeCallsResultsAreStoredWhenItEndsSoAKilledEnclaveRepeatsOnlyTheCallStillAtBraze) {
  BrazeTopology t;
  auto& fake = t.fake;
  FakeBraze::Injection held_at_braze;
  held_at_braze.stall = true;
  fake.inject(held_at_braze);  // the first call to arrive waits at Braze
  t.start(2, "30s",
          "batch_size: 10, window: 1, backoff_initial: 50ms, backoff_max: 200ms, lease: 60s, poll_interval: 20ms");
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  // Different messages: Braze gets one call per notification.
  ASSERT_EQ(http_call(t.ingress, "POST", "/v1/notifications",
                      R"({"notifications": [)"
                      R"({"request_id": "part-a", "external_user_id": "part-user-a", "title": "T", "message": "A"},)"
                      R"({"request_id": "part-b", "external_user_id": "part-user-b", "title": "T", "message": "B"}]})",
                      kToken)
                .status,
            202);
  const auto state = [&](const std::string& id) {
    const auto r = http_call(t.ingress, "GET", "/v1/notifications/" + id, "", kToken);
    if (r.status != 200) return std::string("http-") + std::to_string(r.status);
    return Poco::JSON::Parser().parse(r.body).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("state");
  };
  std::string answered, held;
  ASSERT_TRUE(wait_until(
      [&] {
        if (state("part-a") == "delivered") answered = "a", held = "b";
        if (state("part-b") == "delivered") answered = "b", held = "a";
        return !answered.empty();
      },
      20s))
      << t.parent->output();
  // The batch's deliver has not returned: the other call is still held at Braze, its notification still in flight.
  EXPECT_EQ(state("part-" + held), "in_flight");
  EXPECT_EQ(fake.requests().size(), 1u);  // the held call is recorded when it ends, i.e. not yet
  t.kill_enclave_and_restart();
  ASSERT_TRUE(wait_until([&] { return state("part-" + held) == "delivered"; }, 30s)) << t.parent->output();
  EXPECT_EQ(state("part-" + answered), "delivered");
  auto accepted = fake.accepted_recipients();
  EXPECT_EQ(accepted["part-user-" + answered], 1) << "the answered call's notification was pushed again";
  EXPECT_EQ(accepted["part-user-" + held], 1);
}

// Redis dies while notifications are being posted and comes back: posts during the outage are refused (503, never a
// 202 for something not stored), /readyz says the queue is down and then ready again, and every 202 is delivered
// (what was leased when Redis died is taken over once its lease, 3 s here, has expired).
TEST(UnderLoad, RedisRestartedMidLoadLosesNothingAcceptedAndReadinessShowsTheOutage) {
  TempDir dir;
  RedisServer redis;
  const auto out = dir.path() / "delivered.jsonl";
  HostProcess enclave("node: enclave-redis-load\nproviders: [{plugin: log, config: {output: '" + out.string() +
                      "'}}]\nserve: {transport: tcp, listen: '127.0.0.1:0'}\n");
  const auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  HostProcess parent(
      "node: parent-redis-load\nforward: {transport: tcp, address: '" + *address +
          "', backoff_initial: 20ms, backoff_max: 200ms}\n"
          "queue: {backend: redis, redis_address: '" +
          redis.socket() +
          "', redis_prefix: load, poll_interval: 20ms, backoff_initial: 50ms, backoff_max: 200ms, lease: 3s}\n"
          // four posters and this thread's probes, all from 127.0.0.1
          "ingress: {listen: '127.0.0.1:0', token: '${INGRESS_TOKEN}', max_requests_per_client: 16}\n",
      {{"INGRESS_TOKEN", kToken}});
  const auto ingress = parent.wait_for(R"(ingress listening on (\S+))", 20s);
  ASSERT_TRUE(ingress) << parent.output();
  ASSERT_TRUE(wait_until([&] { return http_call(*ingress, "GET", "/readyz", "", kToken).status == 200; }, 20s));

  std::mutex mu;
  std::set<std::string> accepted_ids;
  std::atomic<int> refused{0}, other{0}, other_status{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> posters;
  for (int p = 0; p < 4; ++p) {
    posters.emplace_back([&, p] {
      for (int n = 0; !stop; ++n) {
        const std::string tag = "r" + std::to_string(p);
        const auto r = http_call(*ingress, "POST", "/v1/notifications", batch_body(tag, n * 5, 5), kToken);
        if (r.status == 202) {
          std::lock_guard lock(mu);
          for (int i = n * 5; i < n * 5 + 5; ++i) accepted_ids.insert(tag + "-" + std::to_string(i));
        } else if (r.status == 503) {
          ++refused;
        } else {
          ++other;
          other_status = r.status;
        }
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  const auto accepted_count = [&] {
    std::lock_guard lock(mu);
    return accepted_ids.size();
  };
  ASSERT_TRUE(wait_until([&] { return accepted_count() >= 100; }, 30s));
  redis.kill();
  const bool saw_unready =
      wait_until([&] { return http_call(*ingress, "GET", "/readyz", "", kToken).status == 503; }, 10s, 20ms);
  const auto during = refused.load();
  ASSERT_TRUE(wait_until([&] { return refused.load() >= during + 4; }, 10s)) << "posts were not refused while down";
  redis.start();
  const bool ready_again =
      wait_until([&] { return http_call(*ingress, "GET", "/readyz", "", kToken).status == 200; }, 30s, 50ms);
  const auto after_restart = accepted_count();
  ASSERT_TRUE(wait_until([&] { return accepted_count() >= after_restart + 100; }, 30s)) << "no 202 after restart";
  stop = true;
  for (auto& t : posters) t.join();
  EXPECT_TRUE(saw_unready) << "/readyz stayed 200 while Redis was down";
  EXPECT_TRUE(ready_again) << "/readyz did not return to 200 after Redis came back";
  EXPECT_EQ(other.load(), 0) << "answers other than 202 or 503, e.g. " << other_status.load();

  const auto total = accepted_count();
  std::multiset<std::string> delivered;
  ASSERT_TRUE(wait_until(
      [&] {
        delivered.clear();
        std::ifstream in(out);
        for (std::string line; std::getline(in, line);) {
          if (line.empty()) continue;
          delivered.insert(
              Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("request_id"));
        }
        return std::set<std::string>(delivered.begin(), delivered.end()).size() >= total;
      },
      60s, 100ms));
  std::size_t lost = 0;
  for (const auto& id : accepted_ids) lost += delivered.count(id) == 0 ? 1 : 0;
  std::cout << "[ redis   ] " << total << " notifications accepted around a Redis restart (" << refused.load()
            << " posts refused with 503 while it was down); " << lost << " lost\n";
  EXPECT_EQ(lost, 0u);
}
