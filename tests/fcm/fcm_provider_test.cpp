// The FCM provider against the fake FCM over real HTTPS on loopback: OAuth exchange with a verified RS256 assertion
// and a cached token, one call per target, FCM's error codes, a refused token refreshed, deadlines, secrets unlogged.
#include "fcm_provider.hpp"
#include "capturing_log.hpp"
#include "counting_transports.hpp"
#include "fake_fcm.hpp"
#include "host_process.hpp"
#include "recording_sink.hpp"
#include "runtime/secret_store.hpp"
#include "test_pki.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>

using namespace notify;
using namespace notify::fcm;
using namespace std::chrono_literals;
using notify::testing::FakeFcm;

namespace {

struct Fixture {
  notify::testing::TempDir dir;
  notify::testing::TestPki pki = notify::testing::make_test_pki(dir.path());
  FakeFcm fake{pki.server_cert, pki.server_key, "test-project"};
  std::string account = fake.make_service_account();
  secrets::MemorySecretStore secrets;
  notify::testing::CountingRegistry transports;
  notify::testing::CapturingLog log{LogLevel::trace};

  Fixture() {
    secrets.put("fcm.service_account", Secret(account), SecretOrigin::config);
    fake.register_tokens({"tok-a", "tok-b", "tok-c"});
  }
  FcmOptions options() const {
    FcmOptions o;
    o.endpoint = fake.endpoint();
    o.http.ca_file = pki.ca_cert.string();
    o.http.request_timeout = 5s;
    o.backoff_initial = 10ms;
    o.backoff_max = 50ms;
    return o;
  }
  std::unique_ptr<FcmProvider> provider(FcmOptions o) {
    return std::make_unique<FcmProvider>(std::move(o), secrets, transports, log);
  }
  std::unique_ptr<FcmProvider> provider() { return provider(options()); }
};

Notification notification(const std::string& id, std::vector<std::string> targets) {
  Notification n;
  n.request_id = id;
  n.device_tokens = std::move(targets);
  n.title = "Title " + id;
  n.message = "Body " + id;
  n.custom_data = {{"id", id}};
  return n;
}

}  // namespace

TEST(FcmProvider, SendsOneMessagePerTargetWithOneCachedToken) {
  Fixture f;
  auto p = f.provider();
  EXPECT_TRUE(p->health().ready) << p->health().detail;
  std::vector<Notification> batch = {notification("n1", {"tok-a"}), notification("n2", {"tok-b", "tok-c"})};
  auto results = p->deliver(batch);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].outcome, Outcome::delivered) << results[0].reason;
  EXPECT_NE(results[0].reference.find("projects/test-project/messages/"), std::string::npos);
  EXPECT_EQ(results[1].outcome, Outcome::delivered) << results[1].reason;
  ASSERT_EQ(results[1].tokens.size(), 2u);  // each token with its own message name
  EXPECT_EQ(results[1].tokens[0].token, "tok-b");
  EXPECT_EQ(results[1].tokens[1].token, "tok-c");
  for (const auto& t : results[1].tokens) {
    EXPECT_EQ(t.outcome, TokenOutcome::delivered);
    EXPECT_NE(t.reference.find("projects/test-project/messages/"), std::string::npos) << t.reference;
  }
  EXPECT_NE(results[1].tokens[0].reference, results[1].tokens[1].reference);
  auto sent = f.fake.sent();
  ASSERT_EQ(sent.size(), 3u);
  std::set<std::string> targets;
  for (const auto& s : sent) {
    targets.insert(s.target);
    EXPECT_EQ(s.target_kind, "token");
    EXPECT_EQ(s.title, "Title " + s.data.at("id"));
  }
  EXPECT_EQ(targets, (std::set<std::string>{"tok-a", "tok-b", "tok-c"}));
  // A second batch reuses the token.
  auto again = p->deliver(std::vector<Notification>{notification("n3", {"tok-a"})});
  EXPECT_EQ(again[0].outcome, Outcome::delivered);
  EXPECT_EQ(f.fake.token_exchanges(), 1);
  EXPECT_TRUE(f.fake.complaints().empty());
  // Neither the private key nor the access token is logged.
  EXPECT_FALSE(f.log.contains("PRIVATE KEY")) << f.log.all();
  EXPECT_FALSE(f.log.contains("ya29.fake")) << f.log.all();
}

TEST(FcmProvider, ATokenNearExpiryIsRefreshed) {
  Fixture f;
  f.fake.set_token_lifetime(60s);  // inside the refresh margin: every delivery exchanges again
  auto p = f.provider();
  EXPECT_EQ(p->deliver(std::vector<Notification>{notification("n1", {"tok-a"})})[0].outcome, Outcome::delivered);
  EXPECT_EQ(p->deliver(std::vector<Notification>{notification("n2", {"tok-a"})})[0].outcome, Outcome::delivered);
  EXPECT_EQ(f.fake.token_exchanges(), 2);
}

TEST(FcmProvider, ARefusedAccessTokenIsReplacedAndTheMessageRetried) {
  Fixture f;
  auto p = f.provider();
  EXPECT_EQ(p->deliver(std::vector<Notification>{notification("n1", {"tok-a"})})[0].outcome, Outcome::delivered);
  f.fake.revoke_access_tokens();
  auto r = p->deliver(std::vector<Notification>{notification("n2", {"tok-b"})});
  EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
  EXPECT_EQ(f.fake.token_exchanges(), 2);
}

TEST(FcmProvider, UnregisteredTokensAndBadRequestsAreRejected) {
  Fixture f;
  f.fake.inject({403, "SENDER_ID_MISMATCH", {}});
  auto p = f.provider();
  auto r = p->deliver(std::vector<Notification>{notification("n1", {"tok-a"})});
  EXPECT_EQ(r[0].outcome, Outcome::rejected);
  EXPECT_NE(r[0].reason.find("SENDER_ID_MISMATCH"), std::string::npos) << r[0].reason;
  ASSERT_EQ(r[0].tokens.size(), 1u);
  EXPECT_EQ(r[0].tokens[0].outcome, TokenOutcome::rejected);  // the sender's fault, not the token's
  auto gone = p->deliver(std::vector<Notification>{notification("n2", {"stale-token"})});
  EXPECT_EQ(gone[0].outcome, Outcome::rejected);
  EXPECT_NE(gone[0].reason.find("UNREGISTERED"), std::string::npos) << gone[0].reason;
  ASSERT_EQ(gone[0].tokens.size(), 1u);
  EXPECT_EQ(gone[0].tokens[0].outcome, TokenOutcome::invalid_token);
  // One invalid token among good ones: the good one is delivered, the invalid one reported; the notification is
  // delivered (nothing is left to retry).
  auto mixed = p->deliver(std::vector<Notification>{notification("n3", {"tok-a", "stale-token"})});
  EXPECT_EQ(mixed[0].outcome, Outcome::delivered) << mixed[0].reason;
  ASSERT_EQ(mixed[0].tokens.size(), 2u);
  EXPECT_EQ(mixed[0].tokens[0].outcome, TokenOutcome::delivered);
  EXPECT_EQ(mixed[0].tokens[1].token, "stale-token");
  EXPECT_EQ(mixed[0].tokens[1].outcome, TokenOutcome::invalid_token);
}

TEST(FcmProvider, ARetryableTokenLeavesTheOthersDeliveredOnce) {
  Fixture f;
  auto o = f.options();
  o.max_attempts = 1;  // the caller retries, not the plugin
  f.fake.inject({503, "UNAVAILABLE", {{"Retry-After", "7"}}});
  auto p = f.provider(o);
  auto r = p->deliver(std::vector<Notification>{notification("n1", {"tok-a", "tok-b", "tok-c"})});
  EXPECT_EQ(r[0].outcome, Outcome::retryable);
  EXPECT_EQ(r[0].retry_after, 7s);
  ASSERT_EQ(r[0].tokens.size(), 3u);
  int delivered = 0, retryable = 0;
  std::string pending;
  for (const auto& t : r[0].tokens) {
    delivered += t.outcome == TokenOutcome::delivered ? 1 : 0;
    if (t.outcome == TokenOutcome::retryable) {
      ++retryable;
      pending = t.token;
    }
  }
  EXPECT_EQ(delivered, 2);
  EXPECT_EQ(retryable, 1);
  EXPECT_EQ(f.fake.sent().size(), 2u);
  // The retry carries the pending token only.
  auto again = p->deliver(std::vector<Notification>{notification("n1", {pending})});
  EXPECT_EQ(again[0].outcome, Outcome::delivered) << again[0].reason;
  std::map<std::string, int> per_token;
  for (const auto& s : f.fake.sent()) ++per_token[s.target];
  EXPECT_EQ(per_token, (std::map<std::string, int>{{"tok-a", 1}, {"tok-b", 1}, {"tok-c", 1}}));
}

// deliver_streaming: a refused notification is reported before any call, a delivered one when its call ends, and
// one that FCM answered 503 only after its retry — the probe (messages FCM had accepted at each report) shows when.
TEST(FcmProvider, StreamingReportsEachNotificationWhenItsCallsAreFinal) {
  Fixture f;
  auto o = f.options();
  o.concurrency = 1;  // one call at a time, in batch order: n1's first, and it gets the 503
  f.fake.inject({503, "UNAVAILABLE", {}});
  auto p = f.provider(o);
  notify::testing::RecordingSink sink([&] { return f.fake.sent().size(); });
  Notification users = notification("n3", {});
  users.external_user_ids = {"u1"};
  std::vector<Notification> batch = {notification("n1", {"tok-a"}), notification("n2", {"tok-b"}), users};
  auto r = p->deliver_streaming(batch, std::chrono::steady_clock::now() + 10s, sink);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
  EXPECT_EQ(r[1].outcome, Outcome::delivered) << r[1].reason;
  EXPECT_EQ(r[2].outcome, Outcome::rejected);
  const auto reports = sink.reports();
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[0].index, 2u);  // refused: before any call
  EXPECT_EQ(reports[0].probe, 0u);
  EXPECT_EQ(reports[1].index, 1u);  // n2: when its call ended, before n1's retry
  EXPECT_EQ(reports[1].probe, 1u);
  EXPECT_EQ(reports[2].index, 0u);  // n1: after its retry
  EXPECT_EQ(reports[2].probe, 2u);
  for (const auto& rep : reports) EXPECT_EQ(rep.result.outcome, r[rep.index].outcome) << rep.index;
}

TEST(FcmProvider, UsersOrNoTargetAreRefusedNamingWhy) {
  Fixture f;
  auto p = f.provider();
  auto users = notification("n1", {});
  users.external_user_ids = {"user123"};
  auto both = notification("n3", {"tok-a"});
  both.topic = "news";
  auto r = p->deliver(std::vector<Notification>{users, notification("n2", {}), both});
  EXPECT_EQ(r[0].outcome, Outcome::rejected);
  EXPECT_NE(r[0].reason.find("external_user_ids are not FCM targets"), std::string::npos) << r[0].reason;
  EXPECT_EQ(r[1].outcome, Outcome::rejected);
  EXPECT_NE(r[1].reason.find("no FCM target; give device_tokens, topic or condition"), std::string::npos)
      << r[1].reason;
  EXPECT_EQ(r[2].outcome, Outcome::rejected);
  EXPECT_NE(r[2].reason.find("give one of device_tokens, topic or condition"), std::string::npos) << r[2].reason;
  EXPECT_TRUE(f.fake.sent().empty());
}

TEST(FcmProvider, QuotaAndUnavailableAreRetriedHonouringRetryAfter) {
  Fixture f;
  f.fake.inject({429, "QUOTA_EXCEEDED", {{"Retry-After", "0"}}});
  f.fake.inject({503, "UNAVAILABLE", {}});
  auto p = f.provider();
  auto r = p->deliver(std::vector<Notification>{notification("n1", {"tok-a"})});
  EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
  EXPECT_EQ(f.fake.sent().size(), 1u);

  f.fake.inject({429, "QUOTA_EXCEEDED", {{"Retry-After", "90"}}});
  auto later = p->deliver(std::vector<Notification>{notification("n2", {"tok-a"})});
  EXPECT_EQ(later[0].outcome, Outcome::retryable);
  EXPECT_EQ(later[0].retry_after, 90s);  // past max_retry_wait: the caller's to wait
}

// The plugin-interface seam: what the provider tells the host's metrics (ctx.metrics) about its calls.
class MockProviderMetrics : public ProviderMetrics {
 public:
  MOCK_METHOD(void, call_finished, (int status, std::chrono::microseconds latency), (noexcept, override));
  MOCK_METHOD(void, retry_scheduled, (), (noexcept, override));
  MOCK_METHOD(void, throttled, (std::chrono::milliseconds waited), (noexcept, override));
  MOCK_METHOD(void, rate_limit_remaining, (std::int64_t remaining), (noexcept, override));
};

TEST(FcmProvider, ReportsEveryCallsStatusAndEveryRetryToItsMetrics) {
  Fixture f;
  f.fake.inject({429, "QUOTA_EXCEEDED", {{"Retry-After", "0"}}});
  f.fake.inject({503, "UNAVAILABLE", {}});
  ::testing::StrictMock<MockProviderMetrics> metrics;
  // The OAuth exchange (200), then the message: 429, 503, 200.
  EXPECT_CALL(metrics, call_finished(200, ::testing::_)).Times(2);
  EXPECT_CALL(metrics, call_finished(429, ::testing::_)).Times(1);
  EXPECT_CALL(metrics, call_finished(503, ::testing::_)).Times(1);
  EXPECT_CALL(metrics, retry_scheduled()).Times(2);
  auto o = f.options();
  o.http.metrics = &metrics;
  auto p = f.provider(o);
  auto r = p->deliver(std::vector<Notification>{notification("n1", {"tok-a"})});
  EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
}

TEST(FcmProvider, OversizedMessagesAreRefusedBeforeSending) {
  Fixture f;
  auto p = f.provider();
  auto n = notification("big", {"tok-a"});
  n.custom_data["blob"] = std::string(5000, 'x');
  auto r = p->deliver(std::vector<Notification>{n, notification("small", {"tok-b"})});
  EXPECT_EQ(r[0].outcome, Outcome::rejected);
  EXPECT_NE(r[0].reason.find("4096"), std::string::npos);
  EXPECT_EQ(r[1].outcome, Outcome::delivered);
  EXPECT_EQ(f.fake.sent().size(), 1u);
}

TEST(FcmProvider, TopicsAreSentAsTopics) {
  Fixture f;
  auto p = f.provider();
  auto n = notification("n1", {});
  n.topic = "news";
  auto r = p->deliver(std::vector<Notification>{n});
  EXPECT_TRUE(r[0].tokens.empty());  // a topic is one target: the notification's own outcome
  EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
  ASSERT_EQ(f.fake.sent().size(), 1u);
  EXPECT_EQ(f.fake.sent()[0].target_kind, "topic");
  EXPECT_EQ(f.fake.sent()[0].target, "news");
}

TEST(FcmProvider, ConditionsAreSentAsConditions) {
  Fixture f;
  auto p = f.provider();
  auto n = notification("n1", {});
  n.condition = "'dogs' in topics || 'cats' in topics";
  auto both = n;
  both.request_id = "n2";
  both.topic = "news";
  auto r = p->deliver(std::vector<Notification>{n, both});
  EXPECT_TRUE(r[0].tokens.empty());
  EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
  EXPECT_EQ(r[1].outcome, Outcome::rejected);
  EXPECT_NE(r[1].reason.find("give one of device_tokens, topic or condition"), std::string::npos) << r[1].reason;
  ASSERT_EQ(f.fake.sent().size(), 1u);
  EXPECT_EQ(f.fake.sent()[0].target_kind, "condition");
  EXPECT_EQ(f.fake.sent()[0].target, "'dogs' in topics || 'cats' in topics");
}

TEST(FcmProvider, NothingStartsPastTheDeadline) {
  Fixture f;
  auto p = f.provider();
  auto r =
      p->deliver_by(std::vector<Notification>{notification("n1", {"tok-a"})}, std::chrono::steady_clock::now() - 1ms);
  EXPECT_EQ(r[0].outcome, Outcome::retryable);
  EXPECT_NE(r[0].reason.find("deadline"), std::string::npos) << r[0].reason;
  EXPECT_EQ(f.transports.tcp->connects.load(), 0);
  EXPECT_EQ(f.fake.token_exchanges(), 0);
}

TEST(FcmProvider, AMissingOrBrokenServiceAccountSendsNothingAndSaysWhich) {
  Fixture f;
  secrets::MemorySecretStore empty;
  auto p = std::make_unique<FcmProvider>(f.options(), empty, f.transports, f.log);
  EXPECT_FALSE(p->health().ready);
  auto r = p->deliver(std::vector<Notification>{notification("n1", {"tok-a"})});
  EXPECT_EQ(r[0].outcome, Outcome::retryable);
  EXPECT_NE(r[0].reason.find("'fcm.service_account'"), std::string::npos) << r[0].reason;

  // A key the token endpoint does not know: the exchange fails, and says so.
  FakeFcm other(f.pki.server_cert, f.pki.server_key, "test-project");
  const std::string stranger = other.make_service_account("stranger@test-project.iam.gserviceaccount.com");
  std::string pointed = stranger;
  const auto at = pointed.find(other.token_uri());
  ASSERT_NE(at, std::string::npos);
  pointed.replace(at, other.token_uri().size(), f.fake.token_uri());
  f.secrets.put("fcm.service_account", Secret(pointed), SecretOrigin::config);
  auto q = f.provider();
  auto r2 = q->deliver(std::vector<Notification>{notification("n2", {"tok-a"})});
  EXPECT_EQ(r2[0].outcome, Outcome::retryable);
  EXPECT_NE(r2[0].reason.find("invalid_grant"), std::string::npos) << r2[0].reason;
  EXPECT_TRUE(f.fake.sent().empty());
}

namespace {

// The enclave's view of the parent's relay: a transport ("vsock") whose addresses are relay routes, each leading to
// one upstream (here both to the fake, over TCP), recording which route each connection took.
class RoutedRegistry final : public TransportRegistry {
 public:
  class Routes final : public Transport {
   public:
    Result<std::unique_ptr<Stream>> connect(std::string_view address,
                                            std::chrono::milliseconds timeout) noexcept override {
      std::string upstream;
      {
        std::lock_guard lock(mu);
        taken.emplace_back(address);
        const auto it = upstreams.find(std::string(address));
        if (it == upstreams.end()) return Error{Errc::refused, "no relay route at " + std::string(address)};
        upstream = it->second;
      }
      return tcp.connect(upstream, timeout);
    }
    Result<std::unique_ptr<Listener>> listen(std::string_view /*address*/, int /*backlog*/) noexcept override {
      return Error{Errc::unsupported, "routes do not listen"};
    }
    std::mutex mu;
    std::map<std::string, std::string> upstreams;  // route -> upstream host:port
    std::vector<std::string> taken;                // the route of each connection, in order
    notify::tcp::TcpTransport tcp;
  };
  Result<std::shared_ptr<Transport>> transport(std::string_view name) noexcept override {
    if (name != "vsock") return Error{Errc::not_found, "no transport plugin named '" + std::string(name) + "'"};
    return std::static_pointer_cast<Transport>(routes);
  }
  std::shared_ptr<Routes> routes = std::make_shared<Routes>();
};

}  // namespace

TEST(FcmProvider, TheTokenHostTakesItsOwnEgressRouteAndMessagesTheSharedOne) {
  Fixture f;
  // As in config/enclave.yaml: messages to the FCM host through relay route 3:8081, the OAuth exchange at the
  // service account's token_uri (host 127.0.0.1 here) through 3:8082. The endpoint names the fake as localhost (its
  // certificate names both), so the two calls have different hosts, as fcm.googleapis.com and oauth2.googleapis.com.
  RoutedRegistry relay;
  const auto fake_address = "127.0.0.1:" + std::to_string(f.fake.port());
  relay.routes->upstreams = {{"3:8081", fake_address}, {"3:8082", fake_address}};
  auto o = f.options();
  o.endpoint = "https://localhost:" + std::to_string(f.fake.port());
  o.http.egress_transport = "vsock";
  o.http.egress_address = "3:8081";
  o.http.egress_by_host = {{"127.0.0.1", "3:8082"}};
  {
    FcmProvider p(o, f.secrets, relay, f.log);
    EXPECT_TRUE(p.health().ready) << p.health().detail;
    auto r = p.deliver(std::vector<Notification>{notification("n1", {"tok-a"}), notification("n2", {"tok-b"})});
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
    EXPECT_EQ(r[1].outcome, Outcome::delivered) << r[1].reason;
  }
  EXPECT_EQ(f.fake.token_exchanges(), 1);
  EXPECT_EQ(f.fake.sent().size(), 2u);
  std::vector<std::string> taken;
  {
    std::lock_guard lock(relay.routes->mu);
    taken = relay.routes->taken;
  }
  ASSERT_FALSE(taken.empty());
  EXPECT_EQ(taken.front(), "3:8082") << "the token exchange comes first, through the token host's route";
  EXPECT_EQ(std::count(taken.begin(), taken.end(), "3:8082"), 1);
  EXPECT_GE(std::count(taken.begin(), taken.end(), "3:8081"), 1);
  EXPECT_EQ(std::count(taken.begin(), taken.end(), "3:8081") + 1, static_cast<std::ptrdiff_t>(taken.size()));

  // Without the per-host entry the exchange takes the FCM route too (which in production leads to another host).
  RoutedRegistry shared;
  shared.routes->upstreams = {{"3:8081", fake_address}};
  o.http.egress_by_host.clear();
  FcmProvider p(o, f.secrets, shared, f.log);
  // Its health says so, naming the host and the key that would give it a route.
  EXPECT_FALSE(p.health().ready);
  EXPECT_NE(p.health().detail.find("token_uri's host 127.0.0.1:" + std::to_string(f.fake.port()) +
                                   " has no egress address of its own (egress.hosts)"),
            std::string::npos)
      << p.health().detail;
  EXPECT_EQ(p.deliver(std::vector<Notification>{notification("n3", {"tok-a"})})[0].outcome, Outcome::delivered);
  std::lock_guard lock(shared.routes->mu);
  EXPECT_EQ(std::count(shared.routes->taken.begin(), shared.routes->taken.end(), "3:8082"), 0);
}
