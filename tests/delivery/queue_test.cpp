// The queue's behaviour, run against both backends — SQLite, and Redis Streams on a real redis-server started here:
// durable, idempotent enqueue; leasing; outcomes with backoff; dead letters; capacity; and the work of a host that
// died being taken over after its lease.
#include "parent/queue/redis_queue.hpp"
#include "parent/queue/sqlite_queue.hpp"
#include "host_process.hpp"
#include "redis_server.hpp"

#include <hiredis/hiredis.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

using namespace notify;
using namespace notify::delivery;
using namespace std::chrono_literals;

namespace {

Notification make(const std::string& id) {
  Notification n;
  n.request_id = id;
  n.external_user_ids = {"u-" + id};
  n.title = "t";
  n.message = "m";
  n.custom_data = {{"k", "v"}};
  return n;
}

QueueOptions fast() {
  QueueOptions o;
  o.capacity = 100;
  o.max_attempts = 3;
  o.backoff_initial = 10ms;
  o.backoff_max = 20ms;
  o.lease = 100ms;
  return o;
}

// One redis-server for the whole test program.
notify::testing::RedisServer& redis_server() {
  static notify::testing::RedisServer server;
  return server;
}

std::atomic<int> g_prefix{0};

// Opens a queue of the test's backend. Calls with the same `name` reach the same queue (a restarted host).
class QueueTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<NotificationQueue> open_queue(QueueOptions o = fast(), const std::string& consumer = "c1") {
    if (GetParam() == "sqlite") {
      auto q = SqliteQueue::open(dir_.path() / "queue.db", o);
      EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
      return q.ok() ? std::move(q.value()) : nullptr;
    }
    RedisOptions r;
    r.address = redis_server().socket();
    r.prefix = prefix_;
    r.consumer = consumer;
    auto q = RedisQueue::open(r, o);
    EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
    return q.ok() ? std::move(q.value()) : nullptr;
  }
  notify::testing::TempDir dir_;
  std::string prefix_ = "t" + std::to_string(g_prefix++);
};

}  // namespace

TEST_P(QueueTest, EnqueueIsIdempotentByRequestId) {
  auto q = open_queue();
  std::vector<Notification> batch = {make("a"), make("b"), make("a")};
  auto r = q->enqueue(batch);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE((*r)[0].duplicate);
  EXPECT_FALSE((*r)[1].duplicate);
  EXPECT_TRUE((*r)[2].duplicate);
  auto again = q->enqueue(std::span(batch).first(1));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)[0].duplicate);
  EXPECT_EQ(q->depth().value(), 2u);
}

TEST_P(QueueTest, LeaseCompleteDeliveredKeepsReferenceAndHistory) {
  auto q = open_queue();
  ASSERT_TRUE(q->enqueue(std::vector{make("a")}).ok());
  auto leased = q->lease(10);
  ASSERT_TRUE(leased.ok());
  ASSERT_EQ(leased->size(), 1u);
  EXPECT_EQ((*leased)[0].notification.custom_data.at("k"), "v");  // stored and read back whole
  EXPECT_TRUE(q->lease(10)->empty());                              // in flight: not leased twice
  EXPECT_EQ(q->status("a").value()->state, State::in_flight);
  ASSERT_TRUE(q->complete("a", DeliveryResult::delivered("d-1")).ok());
  auto s = q->status("a").value();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, State::delivered);
  EXPECT_EQ(s->reference, "d-1");
  ASSERT_EQ(s->history.size(), 1u);
  EXPECT_EQ(s->history[0].outcome, "delivered");
  EXPECT_EQ(q->depth().value(), 0u);
}

TEST_P(QueueTest, RejectedIsFinalWithoutRetry) {
  auto q = open_queue();
  q->enqueue(std::vector{make("a")});
  q->lease(1);
  q->complete("a", DeliveryResult::rejected("HTTP 400 from Braze: bad"));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(q->lease(1)->empty());
  EXPECT_EQ(q->status("a").value()->state, State::rejected);
  EXPECT_EQ(q->status("a").value()->reason, "HTTP 400 from Braze: bad");
}

TEST_P(QueueTest, RetryableBacksOffHonouringRetryAfterThenDiesAfterMaxAttempts) {
  auto q = open_queue();
  q->enqueue(std::vector{make("a")});
  ASSERT_EQ(q->lease(1)->size(), 1u);
  q->complete("a", DeliveryResult::retryable("429", 400ms));
  EXPECT_TRUE(q->lease(1)->empty());  // not due before retry_after
  auto s = q->status("a").value();
  EXPECT_EQ(s->state, State::queued);
  EXPECT_GE(s->next_attempt_ms, s->history.back().at_ms + 400);
  std::this_thread::sleep_for(450ms);
  ASSERT_EQ(q->lease(1)->size(), 1u);
  q->complete("a", DeliveryResult::retryable("503"));
  std::this_thread::sleep_for(50ms);
  ASSERT_EQ(q->lease(1)->size(), 1u);
  q->complete("a", DeliveryResult::retryable("503 again"));
  auto dead = q->status("a").value();
  EXPECT_EQ(dead->state, State::dead);
  EXPECT_EQ(dead->attempts, 3);
  EXPECT_EQ(dead->history.size(), 3u);
  auto list = q->dead(10);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].notification.request_id, "a");
  // dead retry puts it back, with its attempts reset.
  ASSERT_TRUE(q->retry_dead("a").ok());
  EXPECT_FALSE(q->retry_dead("a").ok());  // no longer dead
  auto again = q->lease(1);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].attempts, 0);
}

TEST_P(QueueTest, FullQueueAcceptsNothingFromTheBatch) {
  auto o = fast();
  o.capacity = 3;
  auto q = open_queue(o);
  ASSERT_TRUE(q->enqueue(std::vector{make("a"), make("b")}).ok());
  auto r = q->enqueue(std::vector{make("c"), make("d")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::resource_exhausted);
  EXPECT_NE(r.error().message.find("queue full"), std::string::npos);
  EXPECT_FALSE(q->status("c").value());  // all or nothing
  EXPECT_EQ(q->depth().value(), 2u);
  EXPECT_TRUE(q->enqueue(std::vector{make("c")}).ok());
}

TEST_P(QueueTest, LeaseOfADeadHostIsRetriedAfterReopening) {
  {
    auto q = open_queue(fast(), "crashing-host");
    q->enqueue(std::vector{make("a"), make("b")});
    ASSERT_EQ(q->lease(10)->size(), 2u);
    // The "host" dies here with both in flight.
  }
  auto q = open_queue(fast(), "surviving-host");
  EXPECT_TRUE(q->lease(10)->empty());  // leases still valid
  std::this_thread::sleep_for(150ms);   // lease = 100 ms
  auto again = q->lease(10);
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ(q->depth().value(), 2u);
}

TEST_P(QueueTest, RetentionPurgesFinishedRecordsButKeepsDeadAndUnfinished) {
  auto o = fast();
  o.retention = 100ms;
  o.max_attempts = 1;
  auto q = open_queue(o);
  q->enqueue(std::vector{make("done"), make("refused"), make("dead"), make("waiting")});
  auto leased = q->lease(3);
  ASSERT_EQ(leased->size(), 3u);
  std::map<std::string, DeliveryResult> outcome = {{"done", DeliveryResult::delivered("d")},
                                                   {"refused", DeliveryResult::rejected("bad")},
                                                   {"dead", DeliveryResult::retryable("503")}};
  for (const auto& l : *leased) {
    auto it = outcome.find(l.notification.request_id);
    ASSERT_NE(it, outcome.end()) << l.notification.request_id;
    ASSERT_TRUE(q->complete(it->first, it->second).ok());
  }
  EXPECT_EQ(q->purge_finished().value(), 0u);  // too recent
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(q->purge_finished().value(), 2u);
  EXPECT_FALSE(q->status("done").value());
  EXPECT_FALSE(q->status("refused").value());
  EXPECT_TRUE(q->status("dead").value());     // operators still need it
  EXPECT_TRUE(q->status("waiting").value());  // unfinished
  EXPECT_GT((*leased)[0].accepted_ms, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueTest, ::testing::Values("sqlite", "redis"),
                         [](const auto& info) { return info.param; });

TEST(SqliteQueue, UnopenablePathIsAClearError) {
  auto q = SqliteQueue::open("/nonexistent-dir/queue.db", fast());
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().message.find("/nonexistent-dir/queue.db"), std::string::npos);
}

TEST(RedisQueue, UnreachableServerIsAClearError) {
  RedisOptions r;
  r.address = "/nonexistent-dir/redis.sock";
  auto q = RedisQueue::open(r, fast());
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().message.find("/nonexistent-dir/redis.sock"), std::string::npos);
}

// Two parent hosts consume one stream; one dies holding a batch; the other takes it over after the lease, and every
// notification is completed exactly once.
TEST(RedisQueue, TwoConsumersOneCrashesEveryNotificationCompletedOnce) {
  RedisOptions r;
  r.address = redis_server().socket();
  r.prefix = "two-consumers";
  auto o = fast();
  o.capacity = 1000;
  r.consumer = "parent-a";
  auto a = RedisQueue::open(r, o);
  r.consumer = "parent-b";
  auto b = RedisQueue::open(r, o);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<Notification> batch;
  for (int i = 0; i < 200; ++i) batch.push_back(make("n" + std::to_string(i)));
  ASSERT_TRUE((*a)->enqueue(batch).ok());
  auto held = (*a)->lease(30);  // parent-a takes 30 ...
  ASSERT_EQ(held->size(), 30u);
  a->reset();                   // ... and dies without completing them
  std::map<std::string, int> completed;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (completed.size() < batch.size() && std::chrono::steady_clock::now() < deadline) {
    auto got = (*b)->lease(50);
    ASSERT_TRUE(got.ok()) << got.error().message;
    for (const auto& l : *got) {
      ++completed[l.notification.request_id];
      ASSERT_TRUE((*b)->complete(l.notification.request_id, DeliveryResult::delivered("d")).ok());
    }
    if (got->empty()) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(completed.size(), batch.size());
  for (const auto& [id, times] : completed) EXPECT_EQ(times, 1) << id;
  EXPECT_EQ((*b)->depth().value(), 0u);
}
