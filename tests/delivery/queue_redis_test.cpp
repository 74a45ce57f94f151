// The queue's contract on Redis Streams, against a real redis-server started here (a child process: the e2e tier),
// and what only Redis does: two parent hosts consuming one stream, one of them dying with a batch leased.
#include "parent/queue/redis_queue.hpp"
#include "queue_contract.hpp"
#include "redis_server.hpp"
#include "wait_until.hpp"

#include <map>
#include <set>

using namespace notify;
using namespace notify::delivery;
using namespace notify::delivery::testing;
using namespace std::chrono_literals;

namespace {

// One redis-server for the whole test program; each test has its own key prefix.
notify::testing::RedisServer& redis_server() {
  static notify::testing::RedisServer server;
  return server;
}

const QueueBackend kRedis{"redis",
                          [](const QueueOptions& o, const std::filesystem::path& /*dir*/, const std::string& place,
                             const std::string& consumer) -> std::unique_ptr<NotificationQueue> {
                            RedisOptions r;
                            r.address = redis_server().socket();
                            r.prefix = place;
                            r.consumer = consumer;
                            auto q = RedisQueue::open(r, o);
                            EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
                            return q.ok() ? std::move(q.value()) : nullptr;
                          },
                          /*takeover_by_clock=*/false};

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, QueueContract, ::testing::Values(kRedis), backend_name);

TEST(RedisQueue, UnreachableServerIsAClearError) {
  RedisOptions r;
  r.address = "/nonexistent-dir/redis.sock";
  auto q = RedisQueue::open(r, QueueOptions{});
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().message.find("/nonexistent-dir/redis.sock"), std::string::npos);
}

// Two parent hosts consume one stream; one dies holding a batch; the other takes it over after the lease (Redis's
// idle time: real time, so this test waits for it), and every notification is completed exactly once.
TEST(RedisQueue, TwoConsumersOneCrashesEveryNotificationCompletedOnce) {
  RedisOptions r;
  r.address = redis_server().socket();
  r.prefix = "two-consumers";
  QueueOptions o;
  o.capacity = 1000;
  o.lease = 300ms;
  r.consumer = "parent-a";
  auto a = RedisQueue::open(r, o);
  r.consumer = "parent-b";
  auto b = RedisQueue::open(r, o);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<Notification> batch;
  for (int i = 0; i < 200; ++i) batch.push_back(make_notification("n" + std::to_string(i)));
  ASSERT_TRUE((*a)->enqueue(batch).ok());
  auto held = (*a)->lease(30);  // parent-a takes 30 ...
  ASSERT_EQ(held->size(), 30u);
  a->reset();  // ... and dies without completing them
  std::map<std::string, int> completed;
  const bool all = notify::testing::wait_until(
      [&] {
        auto got = (*b)->lease(50);
        EXPECT_TRUE(got.ok()) << got.error().message;
        if (!got.ok()) return true;  // give up: reported above
        for (const auto& l : *got) {
          ++completed[l.notification.request_id];
          EXPECT_TRUE((*b)->complete(l.notification.request_id, DeliveryResult::delivered("d")).ok());
        }
        return completed.size() == batch.size();
      },
      10s, 20ms);
  EXPECT_TRUE(all) << completed.size() << " of " << batch.size() << " completed";
  EXPECT_EQ(completed.size(), batch.size());
  for (const auto& [id, times] : completed) EXPECT_EQ(times, 1) << id;
  EXPECT_EQ((*b)->depth().value(), 0u);
}

// Redis restarted under a parent: while it is down every call fails naming Redis (which /readyz reports), nothing
// offered then is stored; once it is back the same queue object reconnects by itself, and everything accepted before
// the restart is still there (appendfsync always).
TEST(RedisQueue, ReconnectsAfterTheServerRestartsAndLosesNothingAccepted) {
  notify::testing::RedisServer server;  // its own, so the other tests' server is not restarted under them
  RedisOptions r;
  r.address = server.socket();
  r.prefix = "restart";
  auto opened = RedisQueue::open(r, QueueOptions{});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto& q = *opened.value();
  std::vector<Notification> before, during, after;
  for (int i = 0; i < 10; ++i) {
    before.push_back(make_notification("before-" + std::to_string(i)));
    during.push_back(make_notification("during-" + std::to_string(i)));
    after.push_back(make_notification("after-" + std::to_string(i)));
  }
  ASSERT_TRUE(q.enqueue(before).ok());

  server.kill();
  auto depth = q.depth();
  ASSERT_FALSE(depth.ok());
  EXPECT_NE(depth.error().message.find("redis"), std::string::npos) << depth.error().message;
  EXPECT_FALSE(q.enqueue(during).ok());  // refused, so the ingress answers an error, not a 202

  server.start();
  EXPECT_TRUE(notify::testing::wait_until([&] { return q.depth().ok(); }, 15s)) << "no reconnect";
  ASSERT_TRUE(q.enqueue(after).ok());
  EXPECT_EQ(q.depth().value(), 20u);
  auto leased = q.lease(100);
  ASSERT_TRUE(leased.ok()) << leased.error().message;
  std::set<std::string> ids;
  for (const auto& l : *leased) ids.insert(l.notification.request_id);
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_TRUE(ids.contains("before-0") && ids.contains("before-9") && ids.contains("after-0"));
  EXPECT_FALSE(ids.contains("during-0"));
}
