// The queue's own record format: versioned, every field, independent of the link's codec; records written before it
// had a version (the link's notification JSON) are still read, so an existing queue survives the upgrade.
#include "parent/queue/notification_record.hpp"
#include "parent/queue/sqlite_queue.hpp"

#include "host_process.hpp"  // TempDir

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>

using namespace notify;
using namespace notify::delivery;

namespace {

Notification full() {
  Notification n;
  n.request_id = "req-1";
  n.external_user_ids = {"user-1", "user-2"};
  n.title = "Caf\xc3\xa9 \xf0\x9f\x9a\x80 \"quoted\"";
  n.message = "line one\nline two\t\\";
  n.custom_data = {{"deep_link", "app://x?y=1&z=2"}, {"empty", ""}};
  n.trigger_properties_json = R"({"name":"n","n":1})";
  n.provider = "braze";
  n.campaign_id = "camp-1";
  n.canvas_id = "canvas-1";
  n.device_tokens = {"tok-a", "tok-b"};
  n.topic = "news";
  n.ttl = std::chrono::seconds(86400);
  n.priority = Priority::high;
  n.collapse_key = "score";
  n.condition = "'news' in topics";
  return n;
}

void expect_same(const Notification& a, const Notification& b) {
  EXPECT_EQ(a.request_id, b.request_id);
  EXPECT_EQ(a.external_user_ids, b.external_user_ids);
  EXPECT_EQ(a.title, b.title);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.custom_data, b.custom_data);
  EXPECT_EQ(a.trigger_properties_json, b.trigger_properties_json);
  EXPECT_EQ(a.provider, b.provider);
  EXPECT_EQ(a.campaign_id, b.campaign_id);
  EXPECT_EQ(a.canvas_id, b.canvas_id);
  EXPECT_EQ(a.device_tokens, b.device_tokens);
  EXPECT_EQ(a.topic, b.topic);
  EXPECT_EQ(a.ttl, b.ttl);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.collapse_key, b.collapse_key);
  EXPECT_EQ(a.condition, b.condition);
}

std::string error_of(std::string_view record) {
  auto r = decode_notification_record(record);
  EXPECT_FALSE(r.ok()) << record;
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, Errc::protocol_error);
  return r.error().message;
}

// Exactly what the queue stored before it had its own format: the link's notification JSON, optional fields left out.
constexpr const char* kUnversioned =
    R"({"request_id":"old-1","external_user_ids":["u1","u2"],"title":"Hello","message":"World",)"
    R"("custom_data":{"k":"v"},"provider":"log"})";

}  // namespace

TEST(NotificationRecord, RoundTripsEveryField) {
  const auto n = full();
  auto back = decode_notification_record(encode_notification_record(n));
  ASSERT_TRUE(back.ok()) << back.error().message;
  expect_same(*back, n);
}

TEST(NotificationRecord, RoundTripsEmptyFields) {
  Notification n;
  n.request_id = "r";
  auto back = decode_notification_record(encode_notification_record(n));
  ASSERT_TRUE(back.ok()) << back.error().message;
  expect_same(*back, n);
}

TEST(NotificationRecord, IsVersionedAndWritesEveryField) {
  Poco::JSON::Parser parser;
  const auto o = parser.parse(encode_notification_record(Notification{})).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(o->getValue<int>("v"), kNotificationRecordVersion);
  EXPECT_EQ(kNotificationRecordVersion, 2);
  for (const char* key :
       {"request_id", "external_user_ids", "title", "message", "custom_data", "trigger_properties_json", "provider",
        "campaign_id", "canvas_id", "device_tokens", "topic", "ttl_s", "priority", "collapse_key", "condition"}) {
    EXPECT_TRUE(o->has(key)) << key;
  }
}

TEST(NotificationRecord, ReadsRecordsWrittenBeforeItHadAVersion) {
  auto n = decode_notification_record(kUnversioned);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->request_id, "old-1");
  EXPECT_EQ(n->external_user_ids, (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(n->title, "Hello");
  EXPECT_EQ(n->message, "World");
  EXPECT_EQ(n->custom_data, (std::map<std::string, std::string>{{"k", "v"}}));
  EXPECT_EQ(n->provider, "log");
  EXPECT_EQ(n->campaign_id, "");
  EXPECT_EQ(n->trigger_properties_json, "");
}

TEST(NotificationRecord, CorruptRecordsAreNamedErrors) {
  EXPECT_NE(error_of("not json").find("notification record: invalid JSON"), std::string::npos);
  EXPECT_EQ(error_of("[1,2]"), "notification record: not a JSON object");
  EXPECT_EQ(error_of(R"({"v":3,"request_id":"r"})"),
            "notification record: version 3 is not one this build reads (1, 2)");
  EXPECT_EQ(error_of(R"({"v":"1","request_id":"r"})"), "notification record: v: expected an integer");
  EXPECT_EQ(error_of(R"({"request_id":"r","external_user_ids":["u"],"title":7,"message":"m"})"),
            "notification record: title: expected a string");
  EXPECT_EQ(error_of(R"({"request_id":"r","title":"t","message":"m"})"),
            "notification record: external_user_ids: expected an array");
  EXPECT_EQ(error_of(R"({"request_id":"r","external_user_ids":["u",3],"title":"t","message":"m"})"),
            "notification record: external_user_ids[1]: expected a string");
  EXPECT_EQ(error_of(R"({"request_id":"r","external_user_ids":[],"title":"t","message":"m","custom_data":{"a":1}})"),
            "notification record: custom_data.a: expected a string");
  // A version 2 record carries every field: a missing one is damage, not an old format.
  auto record = encode_notification_record(full());
  record.replace(record.find("\"canvas_id\""), std::string("\"canvas_id\"").size(), "\"canvas_xx\"");
  EXPECT_EQ(error_of(record), "notification record: canvas_id: missing");
}

TEST(NotificationRecord, ReadsVersion1RecordsWithTheNewFieldsEmpty) {
  const std::string v1 =
      R"({"v":1,"request_id":"v1-1","external_user_ids":["u"],"title":"t","message":"m","custom_data":{},)"
      R"("trigger_properties_json":"","provider":"","campaign_id":"","canvas_id":""})";
  auto n = decode_notification_record(v1);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->request_id, "v1-1");
  EXPECT_TRUE(n->device_tokens.empty());
  EXPECT_EQ(n->priority, Priority::unset);
  // A version 2 record with a bad priority or ttl is named.
  auto record = encode_notification_record(full());
  auto bad = record;
  bad.replace(bad.find("\"high\""), 6, "\"urgent\"");
  EXPECT_EQ(error_of(bad), "notification record: priority: expected high, normal or empty");
  bad = record;
  bad.replace(bad.find("86400"), 5, "-1");
  EXPECT_EQ(error_of(bad), "notification record: ttl_s: expected a whole number");
}

TEST(NotificationRecord, TokenStatesRoundTripAndCorruptOnesAreNamed) {
  const std::vector<TokenResult> states = {{"a", TokenOutcome::delivered, "m-1", ""},
                                           {"b", TokenOutcome::invalid_token, "", "Unregistered"},
                                           {"c", TokenOutcome::retryable, "", "503"}};
  auto back = decode_token_states(encode_token_states(states));
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].reference, "m-1");
  EXPECT_EQ((*back)[1].outcome, TokenOutcome::invalid_token);
  EXPECT_EQ((*back)[1].reason, "Unregistered");
  EXPECT_EQ((*back)[2].outcome, TokenOutcome::retryable);
  EXPECT_EQ(encode_token_states({}), "");
  ASSERT_TRUE(decode_token_states("").ok());
  EXPECT_TRUE(decode_token_states("")->empty());
  auto bad = decode_token_states(R"([{"token":"a","outcome":"lost","reference":"","reason":""}])");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "token states: [0].outcome: unknown");
}

TEST(NotificationRecord, ErrorsNeverQuoteTheRecord) {
  const std::string secretish = "sk-secret-looking-title-123456";
  auto msg = error_of(R"({"request_id":"r","external_user_ids":["u"],"title":")" + secretish + R"(","message":5})");
  EXPECT_EQ(msg.find(secretish), std::string::npos) << msg;
  EXPECT_NE(msg.find("message: expected a string"), std::string::npos) << msg;
}

// An existing SQLite queue: a row whose body is in the unversioned format, as the previous build wrote it, is still
// leased and reported after the upgrade.
TEST(NotificationRecord, SqliteQueueReadsARowItsPreviousVersionWrote) {
  notify::testing::TempDir dir;
  const auto file = dir.path() / "queue.db";
  {
    auto q = SqliteQueue::open(file, QueueOptions{});
    ASSERT_TRUE(q.ok()) << q.error().message;
    Notification n;
    n.request_id = "old-1";
    n.external_user_ids = {"placeholder"};
    ASSERT_TRUE((*q)->enqueue(std::span<const Notification>(&n, 1)).ok());
  }
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &raw), SQLITE_OK);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db.get(), "UPDATE notifications SET body = ?1 WHERE request_id = 'old-1'", -1, &stmt,
                                 nullptr),
              SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> update(stmt, &sqlite3_finalize);
    sqlite3_bind_text(update.get(), 1, kUnversioned, -1, SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(update.get()), SQLITE_DONE);
    ASSERT_EQ(sqlite3_changes(db.get()), 1);
  }
  auto q = SqliteQueue::open(file, QueueOptions{});
  ASSERT_TRUE(q.ok()) << q.error().message;
  auto status = (*q)->status("old-1");
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_TRUE(status->has_value());
  EXPECT_EQ((*status)->notification.title, "Hello");
  auto leased = (*q)->lease(10);
  ASSERT_TRUE(leased.ok()) << leased.error().message;
  ASSERT_EQ(leased->size(), 1u);
  EXPECT_EQ((*leased)[0].notification.external_user_ids, (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ((*leased)[0].notification.custom_data.at("k"), "v");
}

TEST(NotificationRecord, SqliteQueueStoresTheVersionedRecord) {
  notify::testing::TempDir dir;
  const auto file = dir.path() / "queue.db";
  {
    auto q = SqliteQueue::open(file, QueueOptions{});
    ASSERT_TRUE(q.ok()) << q.error().message;
    const auto n = full();
    ASSERT_TRUE((*q)->enqueue(std::span<const Notification>(&n, 1)).ok());
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &raw), SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db.get(), "SELECT body FROM notifications WHERE request_id = 'req-1'", -1, &stmt, nullptr),
      SQLITE_OK);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> select(stmt, &sqlite3_finalize);
  ASSERT_EQ(sqlite3_step(select.get()), SQLITE_ROW);
  const std::string body = reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 0));
  EXPECT_EQ(body, encode_notification_record(full()));
  EXPECT_EQ(body.rfind("{\"v\":2,", 0), 0u) << body;
}

// A queue file from before per-token state (no tokens column) gets the column when opened, and its rows work with it.
TEST(NotificationRecord, SqliteQueueFromBeforeTokenStatesGetsTheColumn) {
  notify::testing::TempDir dir;
  const auto file = dir.path() / "queue.db";
  {
    auto q = SqliteQueue::open(file, QueueOptions{});
    ASSERT_TRUE(q.ok()) << q.error().message;
    auto n = full();
    n.device_tokens = {"t1", "t2"};
    ASSERT_TRUE((*q)->enqueue(std::span<const Notification>(&n, 1)).ok());
  }
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &raw), SQLITE_OK);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
    ASSERT_EQ(sqlite3_exec(db.get(), "ALTER TABLE notifications DROP COLUMN tokens", nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db.get());
  }
  auto q = SqliteQueue::open(file, QueueOptions{});
  ASSERT_TRUE(q.ok()) << q.error().message;
  ASSERT_EQ((*q)->lease(10)->size(), 1u);
  ASSERT_TRUE((*q)->complete("req-1", DeliveryResult::from_tokens({{"t1", TokenOutcome::delivered, "m", ""},
                                                                   {"t2", TokenOutcome::invalid_token, "", "gone"}}))
                  .ok());
  auto status = (*q)->status("req-1");
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ((*status)->state, State::delivered);
  ASSERT_EQ((*status)->tokens.size(), 2u);
  EXPECT_EQ((*status)->tokens[1].outcome, TokenOutcome::invalid_token);
}
