// The APNs provider against the fake APNs over real HTTP/2 + TLS on loopback: ES256 provider tokens verified by the
// fake and reused, apns-id, invalid device tokens, ExpiredProviderToken, retries, deadlines, the key unlogged.
#include "apns_provider.hpp"
#include "capturing_log.hpp"
#include "counting_transports.hpp"
#include "fake_apns.hpp"
#include "host_process.hpp"
#include "recording_sink.hpp"
#include "runtime/secret_store.hpp"
#include "test_pki.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

using namespace notify;
using namespace notify::apns;
using namespace std::chrono_literals;
using notify::testing::FakeApns;

namespace {

const std::string kDevA(64, 'a');
const std::string kDevB(64, 'b');
const std::string kDevC(64, 'c');

struct Fixture {
  notify::testing::TempDir dir;
  notify::testing::TestPki pki = notify::testing::make_test_pki(dir.path());
  FakeApns fake{pki.server_cert, pki.server_key, "TEAM123456", "KEY1234567", "com.example.app"};
  secrets::MemorySecretStore secrets;
  notify::testing::CountingRegistry transports;
  notify::testing::CapturingLog log{LogLevel::trace};

  Fixture() {
    secrets.put("apns.key", Secret(fake.key_pem()), SecretOrigin::config);
    fake.register_devices({kDevA, kDevB, kDevC});
  }
  ApnsOptions options() const {
    ApnsOptions o;
    o.endpoint = fake.endpoint();
    o.http.ca_file = pki.ca_cert.string();
    o.http.request_timeout = 5s;
    o.key_id = "KEY1234567";
    o.team_id = "TEAM123456";
    o.topic = "com.example.app";
    o.backoff_initial = 10ms;
    o.backoff_max = 50ms;
    return o;
  }
  std::unique_ptr<ApnsProvider> provider(ApnsOptions o) {
    return std::make_unique<ApnsProvider>(std::move(o), secrets, transports, log);
  }
  std::unique_ptr<ApnsProvider> provider() { return provider(options()); }
};

Notification notification(const std::string& id, std::vector<std::string> devices) {
  Notification n;
  n.request_id = id;
  n.device_tokens = std::move(devices);
  n.title = "Title";
  n.message = "Body";
  n.custom_data = {{"k", "v"}};
  return n;
}

}  // namespace

TEST(ApnsProvider, PushesOverHttp2WithOneReusedProviderToken) {
  Fixture f;
  auto p = f.provider();
  EXPECT_TRUE(p->health().ready) << p->health().detail;
  const std::string uuid = "123e4567-e89b-12d3-a456-426614174000";
  auto r = p->deliver(std::vector<Notification>{notification(uuid, {kDevA}), notification("n2", {kDevB, kDevC})});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
  EXPECT_EQ(r[0].reference, uuid);  // the request_id travelled as apns-id
  EXPECT_EQ(r[1].outcome, Outcome::delivered) << r[1].reason;
  auto again = p->deliver(std::vector<Notification>{notification("n3", {kDevA})});
  EXPECT_EQ(again[0].outcome, Outcome::delivered);
  auto pushes = f.fake.pushes();
  ASSERT_EQ(pushes.size(), 4u);
  for (const auto& push : pushes) {
    EXPECT_EQ(push.title, "Title");
    EXPECT_EQ(push.custom.at("k"), "v");
    EXPECT_EQ(push.push_type, "alert");
    EXPECT_EQ(push.priority, "10");
  }
  EXPECT_EQ(f.fake.provider_tokens_seen(), 1u);
  EXPECT_TRUE(f.fake.complaints().empty());
  EXPECT_FALSE(f.log.contains("PRIVATE KEY")) << f.log.all();
  EXPECT_FALSE(f.log.contains("bearer ")) << f.log.all();
}

TEST(ApnsProvider, InvalidDeviceTokensAreRejected) {
  Fixture f;
  f.fake.unregister(kDevB);
  auto p = f.provider();
  auto r = p->deliver(std::vector<Notification>{notification("n1", {std::string(64, 'd')}), notification("n2", {kDevB}),
                                                notification("n3", {"user123"})});
  EXPECT_EQ(r[0].outcome, Outcome::rejected);
  EXPECT_NE(r[0].reason.find("BadDeviceToken"), std::string::npos) << r[0].reason;
  EXPECT_EQ(r[1].outcome, Outcome::rejected);
  EXPECT_NE(r[1].reason.find("Unregistered"), std::string::npos) << r[1].reason;
  EXPECT_EQ(r[2].outcome, Outcome::rejected);  // not a device token: never sent
  EXPECT_NE(r[2].reason.find("not an APNs device token"), std::string::npos);
  EXPECT_TRUE(f.fake.pushes().empty());
  // Each is an invalid token of its own (BadDeviceToken, Unregistered, malformed): the parent keeps them.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(r[i].tokens.size(), 1u) << i;
    EXPECT_EQ(r[i].tokens[0].outcome, TokenOutcome::invalid_token) << i << " " << r[i].tokens[0].reason;
  }
  EXPECT_EQ(r[2].tokens[0].token, "user123");
  EXPECT_EQ(f.fake.requests().size(), 2u) << "the malformed token was never sent";
}

TEST(ApnsProvider, EachDeviceTokenHasItsOwnOutcomeAndTheNotificationFollowsThem) {
  Fixture f;
  f.fake.unregister(kDevB);
  f.fake.inject_for(kDevC, {503, "ServiceUnavailable", {{"retry-after", "120"}}});  // past max_retry_wait
  auto p = f.provider();
  auto r = p->deliver(std::vector<Notification>{notification("n1", {kDevA, kDevB, kDevC})});
  ASSERT_EQ(r[0].tokens.size(), 3u);
  EXPECT_EQ(r[0].outcome, Outcome::retryable);
  EXPECT_EQ(r[0].retry_after, 120s);
  EXPECT_EQ(r[0].tokens[0].token, kDevA);
  EXPECT_EQ(r[0].tokens[0].outcome, TokenOutcome::delivered);
  EXPECT_FALSE(r[0].tokens[0].reference.empty());
  EXPECT_EQ(r[0].tokens[1].outcome, TokenOutcome::invalid_token);
  EXPECT_NE(r[0].tokens[1].reason.find("410 Unregistered"), std::string::npos) << r[0].tokens[1].reason;
  EXPECT_EQ(r[0].tokens[2].outcome, TokenOutcome::retryable);
  // kDevA was pushed once, even though kDevC failed (the provider retries only kDevC, here not at all: 120 s).
  auto pushes = f.fake.pushes();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].device_token, kDevA);
  // The caller's retry, with only the pending token, delivers it: the notification is delivered.
  auto retry = p->deliver(std::vector<Notification>{notification("n1", {kDevC})});
  EXPECT_EQ(retry[0].outcome, Outcome::delivered) << retry[0].reason;
  auto requests = f.fake.requests();  // concurrent streams: in any order
  std::sort(requests.begin(), requests.end());
  EXPECT_EQ(requests, (std::vector<std::string>{kDevA, kDevB, kDevC, kDevC}));
}

// deliver_streaming: a notification whose pushes are all final is reported when they end, before another one's retry;
// the probe (pushes the fake had accepted at each report) shows when.
TEST(ApnsProvider, StreamingReportsEachNotificationWhenItsPushesAreFinal) {
  Fixture f;
  f.fake.inject_for(kDevA, {});  // n1's push: 503 once, then delivered on the retry
  auto p = f.provider();
  notify::testing::RecordingSink sink([&] { return f.fake.pushes().size(); });
  std::vector<Notification> batch = {notification("n1", {kDevA}), notification("n2", {kDevB})};
  auto r = p->deliver_streaming(batch, std::chrono::steady_clock::now() + 10s, sink);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
  EXPECT_EQ(r[1].outcome, Outcome::delivered) << r[1].reason;
  const auto reports = sink.reports();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].index, 1u);  // n2, when the first round ended
  EXPECT_EQ(reports[0].probe, 1u);
  EXPECT_EQ(reports[1].index, 0u);  // n1, after its retry
  EXPECT_EQ(reports[1].probe, 2u);
}

TEST(ApnsProvider, DeviceTokenNotForTopicIsRejectedButNotInvalid) {
  Fixture f;
  f.fake.inject_for(kDevA, {400, "DeviceTokenNotForTopic", {}});
  auto p = f.provider();
  auto r = p->deliver(std::vector<Notification>{notification("n1", {kDevA})});
  EXPECT_EQ(r[0].outcome, Outcome::rejected);
  ASSERT_EQ(r[0].tokens.size(), 1u);
  EXPECT_EQ(r[0].tokens[0].outcome, TokenOutcome::rejected) << "another app's token is not a dead one";
}

TEST(ApnsProvider, TtlPriorityAndCollapseKeyBecomeApnsHeaders) {
  Fixture f;
  auto p = f.provider();
  auto urgent = notification("n1", {kDevA});
  urgent.ttl = 3600s;
  urgent.priority = Priority::normal;
  urgent.collapse_key = "score-42";
  const auto before =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto plain = notification("n2", {kDevB});
  auto high = notification("n3", {kDevC});
  high.priority = Priority::high;
  auto r = p->deliver(std::vector<Notification>{urgent, plain, high});
  for (const auto& x : r) EXPECT_EQ(x.outcome, Outcome::delivered) << x.reason;
  std::map<std::string, FakeApns::Push> by_device;
  for (const auto& push : f.fake.pushes()) by_device[push.device_token] = push;
  ASSERT_EQ(by_device.size(), 3u);
  const auto& a = by_device[kDevA];
  EXPECT_EQ(a.priority, "5");
  EXPECT_EQ(a.collapse_id, "score-42");
  ASSERT_FALSE(a.expiration.empty());
  const auto expiration = std::stoll(a.expiration);
  EXPECT_GE(expiration, before + 3600);
  EXPECT_LE(expiration, before + 3600 + 60);
  EXPECT_EQ(by_device[kDevB].priority, "10");  // the instance's configured default
  EXPECT_TRUE(by_device[kDevB].expiration.empty());
  EXPECT_TRUE(by_device[kDevB].collapse_id.empty());
  EXPECT_EQ(by_device[kDevC].priority, "10");
}

TEST(ApnsProvider, UsersTopicsAndNoTokensAreRefusedNamingWhy) {
  Fixture f;
  auto p = f.provider();
  Notification users = notification("n1", {});
  users.external_user_ids = {"user123"};
  Notification topic = notification("n2", {});
  topic.topic = "news";
  auto r = p->deliver(std::vector<Notification>{users, topic, notification("n3", {})});
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(r[i].outcome, Outcome::rejected);
    EXPECT_NE(r[i].reason.find("external_user_ids, topic and condition are not APNs recipients; give device_tokens"),
              std::string::npos)
        << r[i].reason;
  }
  EXPECT_EQ(r[2].outcome, Outcome::rejected);
  EXPECT_NE(r[2].reason.find("no device_tokens"), std::string::npos) << r[2].reason;
  EXPECT_TRUE(f.fake.requests().empty());
}

TEST(ApnsProvider, AnExpiredProviderTokenIsReplacedAndThePushRetried) {
  Fixture f;
  auto p = f.provider();
  EXPECT_EQ(p->deliver(std::vector<Notification>{notification("n1", {kDevA})})[0].outcome, Outcome::delivered);
  f.fake.expire_provider_tokens();
  auto r = p->deliver(std::vector<Notification>{notification("n2", {kDevA})});
  EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
  EXPECT_EQ(f.fake.provider_tokens_seen(), 2u);
}

TEST(ApnsProvider, BusyAndUnavailableAreRetriedAndLongWaitsHandedBack) {
  Fixture f;
  f.fake.inject({429, "TooManyRequests", {}});
  f.fake.inject({503, "ServiceUnavailable", {}});
  auto p = f.provider();
  EXPECT_EQ(p->deliver(std::vector<Notification>{notification("n1", {kDevA})})[0].outcome, Outcome::delivered);
  EXPECT_EQ(f.fake.pushes().size(), 1u);
  f.fake.inject({503, "ServiceUnavailable", {{"retry-after", "120"}}});
  auto later = p->deliver(std::vector<Notification>{notification("n2", {kDevA})});
  EXPECT_EQ(later[0].outcome, Outcome::retryable);
  EXPECT_EQ(later[0].retry_after, 120s);
}

TEST(ApnsProvider, NothingStartsPastTheDeadlineAndAMissingKeySendsNothing) {
  Fixture f;
  auto p = f.provider();
  auto r =
      p->deliver_by(std::vector<Notification>{notification("n1", {kDevA})}, std::chrono::steady_clock::now() - 1ms);
  EXPECT_EQ(r[0].outcome, Outcome::retryable);
  EXPECT_NE(r[0].reason.find("deadline"), std::string::npos);
  EXPECT_EQ(f.transports.tcp->connects.load(), 0);

  secrets::MemorySecretStore empty;
  auto q = std::make_unique<ApnsProvider>(f.options(), empty, f.transports, f.log);
  EXPECT_FALSE(q->health().ready);
  auto m = q->deliver(std::vector<Notification>{notification("n2", {kDevA})});
  EXPECT_EQ(m[0].outcome, Outcome::retryable);
  EXPECT_NE(m[0].reason.find("'apns.key'"), std::string::npos);
  EXPECT_TRUE(f.fake.pushes().empty());
}
