// The queue's contract on SQLite (a file in the test's temp dir): the fast tier.
#include "parent/queue/sqlite_queue.hpp"
#include "queue_contract.hpp"

using namespace notify;
using namespace notify::delivery;
using namespace notify::delivery::testing;

namespace {

const QueueBackend kSqlite{
    "sqlite",
    [](const QueueOptions& o, const std::filesystem::path& dir, const std::string& place,
       const std::string& /*consumer: one file, one host*/) -> std::unique_ptr<NotificationQueue> {
      auto q = SqliteQueue::open(dir / (place + ".db"), o);
      EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
      return q.ok() ? std::move(q.value()) : nullptr;
    },
    /*takeover_by_clock=*/true};

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, QueueContract, ::testing::Values(kSqlite), backend_name);

TEST(SqliteQueue, UnopenablePathIsAClearError) {
  auto q = SqliteQueue::open("/nonexistent-dir/queue.db", QueueOptions{});
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().message.find("/nonexistent-dir/queue.db"), std::string::npos);
}
