// The delivery callbacks' outbox on a manual clock: events wait until acknowledged, a failed attempt comes back
// only after its backoff, leases keep two senders off one event, max_attempts gives up, and the file survives a
// reopen (a crash) with every unacknowledged event due again. Also the payload and the callback URL rules.
#include "parent/callbacks/callback_outbox.hpp"
#include "host_process.hpp"
#include "parent/callbacks/callback_payload.hpp"
#include "parent/callbacks/callback_url.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <thread>

using namespace notify::callbacks;
using namespace std::chrono_literals;
using notify::testing::TempDir;

namespace {

struct Box {
  TempDir dir;
  std::shared_ptr<notify::toolkit::ManualClock> clock = std::make_shared<notify::toolkit::ManualClock>();
  std::unique_ptr<CallbackOutbox> box;
  explicit Box(int max_attempts = 0) { reopen(max_attempts); }
  void reopen(int max_attempts = 0) {
    box.reset();
    OutboxOptions o;
    o.backoff_initial = 1s;
    o.backoff_max = 4s;
    o.max_attempts = max_attempts;
    o.clock = clock;
    auto opened = CallbackOutbox::open(dir.path() / "outbox.db", o);
    ASSERT_TRUE(opened) << opened.error().message;
    box = std::move(opened.value());
  }
  std::vector<std::string> lease_ids(std::size_t max = 10) {
    auto l = box->lease(max);
    EXPECT_TRUE(l) << l.error().message;
    std::vector<std::string> ids;
    for (const auto& e : *l) ids.push_back(e.id);
    return ids;
  }
};

std::vector<OutboxEvent> events(std::initializer_list<const char*> ids) {
  std::vector<OutboxEvent> out;
  for (const char* id : ids) out.push_back({id, "", std::string("{\"id\":\"") + id + "\"}", 0});
  return out;
}

}  // namespace

TEST(CallbackOutbox, AppendLeaseAck) {
  Box b;
  ASSERT_TRUE(b.box->append(events({"a:delivered", "b:rejected"})));
  EXPECT_EQ(b.box->pending().value(), 2u);
  auto first = b.box->lease(1);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(first->front().body, R"({"id":")" + first->front().id + R"("})");
  // The leased event is not handed to a second worker; the other one is.
  auto second = b.lease_ids();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second.front(), first->front().id);
  EXPECT_TRUE(b.lease_ids().empty());
  ASSERT_TRUE(b.box->ack(first->front().id));
  ASSERT_TRUE(b.box->ack(second.front()));
  EXPECT_EQ(b.box->pending().value(), 0u);
  EXPECT_TRUE(b.lease_ids().empty());
}

TEST(CallbackOutbox, TheSameEventTwiceIsOne) {
  Box b;
  ASSERT_TRUE(b.box->append(events({"a:delivered"})));
  ASSERT_TRUE(b.box->append(events({"a:delivered"})));
  EXPECT_EQ(b.box->pending().value(), 1u);
}

TEST(CallbackOutbox, ConcurrentAppendsAreAllStored) {
  Box b;
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&b, t] {
      for (int i = 0; i < 20; ++i) {
        const std::vector<OutboxEvent> one{{std::to_string(t) + "-" + std::to_string(i) + ":delivered", "", "{}", 0}};
        EXPECT_TRUE(b.box->append(one));
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(b.box->pending().value(), 160u);
  EXPECT_EQ(b.lease_ids(1000).size(), 160u);
}

TEST(CallbackOutbox, AFailedEventWaitsForItsBackoff) {
  Box b;
  ASSERT_TRUE(b.box->append(events({"a:dead"})));
  ASSERT_EQ(b.lease_ids().size(), 1u);
  ASSERT_EQ(b.box->fail("a:dead", "HTTP 503").value(), FailVerdict::retrying);
  // First retry: drawn from [backoff_initial/2, backoff_initial] = [0.5 s, 1 s].
  b.clock->advance(499ms);
  EXPECT_TRUE(b.lease_ids().empty());
  b.clock->advance(501ms);
  auto again = b.box->lease(1);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().attempts, 1);
  // The ceiling doubles per failure and stops at backoff_max (4 s): from the 3rd failure on the delay is in [2 s, 4 s].
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(b.box->fail("a:dead", "refused").value(), FailVerdict::retrying);
    b.clock->advance(4s);
    ASSERT_EQ(b.lease_ids().size(), 1u) << i;
  }
  ASSERT_EQ(b.box->fail("a:dead", "refused").value(), FailVerdict::retrying);
  b.clock->advance(1999ms);
  EXPECT_TRUE(b.lease_ids().empty());
  b.clock->advance(2001ms);
  EXPECT_EQ(b.lease_ids().size(), 1u);
  EXPECT_EQ(b.box->pending().value(), 1u);  // still waiting: never dropped when max_attempts is 0
}

TEST(CallbackOutbox, MaxAttemptsGivesUp) {
  Box b(2);
  ASSERT_TRUE(b.box->append(events({"a:rejected"})));
  ASSERT_EQ(b.lease_ids().size(), 1u);
  ASSERT_EQ(b.box->fail("a:rejected", "HTTP 500").value(), FailVerdict::retrying);
  b.clock->advance(1s);
  ASSERT_EQ(b.lease_ids().size(), 1u);
  ASSERT_EQ(b.box->fail("a:rejected", "HTTP 500").value(), FailVerdict::given_up);
  EXPECT_EQ(b.box->pending().value(), 0u);
}

TEST(CallbackOutbox, UnacknowledgedEventsSurviveAReopen) {
  Box b;
  ASSERT_TRUE(b.box->append(events({"a:delivered", "b:delivered", "c:dead"})));
  ASSERT_EQ(b.lease_ids(2).size(), 2u);  // in flight when the process "crashes"
  ASSERT_TRUE(b.box->ack("a:delivered"));
  b.reopen();
  EXPECT_EQ(b.box->pending().value(), 2u);  // counted again at open
  auto ids = b.lease_ids();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"b:delivered", "c:dead"}));
}

TEST(CallbackPayload, CarriesTheOutcomeAndAStableId) {
  notify::services::FinalOutcome o{"req-1", notify::delivery::State::rejected, 1, "", "bad user", "braze", {}};
  EXPECT_EQ(callback_event_id(o), "req-1:rejected");
  const auto at = std::chrono::system_clock::time_point{std::chrono::seconds(1614265330)};
  auto parsed = Poco::JSON::Parser().parse(callback_payload(o, at)).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(parsed->getValue<std::string>("type"), "notification.rejected");
  EXPECT_EQ(parsed->getValue<std::string>("timestamp").substr(0, 19), "2021-02-25T15:02:10");
  auto data = parsed->getObject("data");
  EXPECT_EQ(data->getValue<std::string>("request_id"), "req-1");
  EXPECT_EQ(data->getValue<std::string>("state"), "rejected");
  EXPECT_EQ(data->getValue<int>("attempts"), 1);
  EXPECT_EQ(data->getValue<std::string>("reason"), "bad user");
  EXPECT_EQ(data->getValue<std::string>("provider"), "braze");
  EXPECT_EQ(data->getArray("invalid_tokens")->size(), 0u);
}

TEST(CallbackPayload, ListsTheInvalidTokens) {
  notify::services::FinalOutcome o{"req-2",           notify::delivery::State::delivered, 2, "m-1", "", "apns",
                                   {"tok-a", "tok-b"}};
  auto parsed = Poco::JSON::Parser()
                    .parse(callback_payload(o, std::chrono::system_clock::now()))
                    .extract<Poco::JSON::Object::Ptr>();
  auto invalid = parsed->getObject("data")->getArray("invalid_tokens");
  ASSERT_EQ(invalid->size(), 2u);
  EXPECT_EQ(invalid->getElement<std::string>(0), "tok-a");
  EXPECT_EQ(invalid->getElement<std::string>(1), "tok-b");
}

TEST(CallbackUrl, HttpsAnywherePlainHttpOnlyToLoopback) {
  auto ok = parse_callback_url("https://hooks.example.com/notify/cb?x=1");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->host, "hooks.example.com");
  EXPECT_EQ(ok->port, 443);
  EXPECT_EQ(ok->target, "/notify/cb?x=1");
  EXPECT_TRUE(parse_callback_url("http://127.0.0.1:9000/cb"));
  EXPECT_TRUE(parse_callback_url("http://[::1]:9000/cb"));
  EXPECT_TRUE(parse_callback_url("http://localhost/cb"));
  auto plain = parse_callback_url("http://hooks.example.com/cb");
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message.find("loopback"), std::string::npos);
  EXPECT_FALSE(parse_callback_url("ftp://127.0.0.1/cb"));
  EXPECT_FALSE(parse_callback_url("https:///cb"));
  EXPECT_FALSE(parse_callback_url("https://user:pw@hooks.example.com/cb"));
}
