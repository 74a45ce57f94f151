// An existing Redis queue survives the upgrade to the queue's own record format: a hash whose body is in the
// unversioned format (the link's notification JSON, as the previous build wrote it) is still reported and leased.
// Against a real redis-server child process: the e2e tier.
#include "parent/queue/notification_record.hpp"
#include "parent/queue/redis_queue.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>

using namespace notify;
using namespace notify::delivery;

namespace {

struct ContextFree {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
struct ReplyFree {
  void operator()(void* r) const noexcept { freeReplyObject(r); }
};

constexpr const char* kUnversioned =
    R"({"request_id":"old-1","external_user_ids":["u1"],"title":"Hello","message":"World","provider":"log"})";

}  // namespace

TEST(NotificationRecordRedis, ReadsAHashItsPreviousVersionWrote) {
  notify::testing::RedisServer server;
  RedisOptions r;
  r.address = server.socket();
  r.prefix = "legacy";
  r.consumer = "c1";
  auto q = RedisQueue::open(r, QueueOptions{});
  ASSERT_TRUE(q.ok()) << q.error().message;
  Notification n;
  n.request_id = "old-1";
  n.external_user_ids = {"placeholder"};
  ASSERT_TRUE((*q)->enqueue(std::span<const Notification>(&n, 1)).ok());
  {
    std::unique_ptr<redisContext, ContextFree> c(redisConnectUnix(server.socket().c_str()));
    ASSERT_TRUE(c && c->err == 0);
    std::unique_ptr<void, ReplyFree> reply(redisCommand(c.get(), "HSET %s body %s", "legacy:n:old-1", kUnversioned));
    ASSERT_NE(reply, nullptr);
    ASSERT_EQ(static_cast<redisReply*>(reply.get())->type, REDIS_REPLY_INTEGER);  // 0: the field existed
  }
  auto status = (*q)->status("old-1");
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_TRUE(status->has_value());
  EXPECT_EQ((*status)->notification.title, "Hello");
  auto leased = (*q)->lease(10);
  ASSERT_TRUE(leased.ok()) << leased.error().message;
  ASSERT_EQ(leased->size(), 1u);
  EXPECT_EQ((*leased)[0].notification.external_user_ids, std::vector<std::string>{"u1"});
  EXPECT_EQ((*leased)[0].notification.provider, "log");
}

TEST(NotificationRecordRedis, StoresTheVersionedRecord) {
  notify::testing::RedisServer server;
  RedisOptions r;
  r.address = server.socket();
  r.prefix = "fresh";
  r.consumer = "c1";
  auto q = RedisQueue::open(r, QueueOptions{});
  ASSERT_TRUE(q.ok()) << q.error().message;
  Notification n;
  n.request_id = "new-1";
  n.external_user_ids = {"u"};
  n.title = "t";
  ASSERT_TRUE((*q)->enqueue(std::span<const Notification>(&n, 1)).ok());
  std::unique_ptr<redisContext, ContextFree> c(redisConnectUnix(server.socket().c_str()));
  ASSERT_TRUE(c && c->err == 0);
  std::unique_ptr<void, ReplyFree> reply(redisCommand(c.get(), "HGET %s body", "fresh:n:new-1"));
  ASSERT_NE(reply, nullptr);
  const auto* body = static_cast<redisReply*>(reply.get());
  ASSERT_EQ(body->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(body->str, body->len), encode_notification_record(n));
}
