// The ingress routes on the request target's path alone (Poco::URI): a query string or a percent-encoded id never
// changes which endpoint answers. IngressService::handle is called directly: no socket, no server.
#include "parent/ingress/ingress_service.hpp"
#include "parent/queue/sqlite_queue.hpp"

#include "capturing_log.hpp"
#include "host_process.hpp"

#include <notify/toolkit/clock.hpp>

#include <gtest/gtest.h>

using notify::Notification;
using notify::delivery::QueueOptions;
using notify::delivery::SqliteQueue;
using notify::services::DeliveryMetrics;
using notify::services::IngressOptions;
using notify::services::IngressService;

namespace {

const std::string kBearer = "Bearer routing-test-token";

struct Routing : ::testing::Test {
  notify::testing::TempDir dir;
  std::unique_ptr<SqliteQueue> queue;
  DeliveryMetrics metrics;
  std::unique_ptr<IngressService> ingress;

  void SetUp() override {
    QueueOptions o;
    o.clock = std::make_shared<notify::toolkit::ManualClock>();
    auto q = SqliteQueue::open(dir.path() / "queue.db", o);
    ASSERT_TRUE(q.ok()) << q.error().message;
    queue = std::move(q.value());
    Notification n;
    n.request_id = "abc";
    n.external_user_ids = {"user-1"};
    n.message = "M";
    ASSERT_TRUE(queue->enqueue(std::span<const Notification>(&n, 1)).ok());
    IngressOptions io;
    io.token.emplace(std::string("routing-test-token"));
    ingress = std::make_unique<IngressService>(
        std::move(io), *queue, metrics, [] { return true; }, [] {}, std::make_shared<notify::testing::CapturingLog>());
  }

  IngressService::Reply get(const std::string& target) { return ingress->handle("GET", target, kBearer, "", false); }
};

}  // namespace

TEST_F(Routing, AQueryStringDoesNotChangeTheRoute) {
  const auto plain = get("/v1/notifications/abc");
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_NE(plain.body.find(R"("request_id":"abc")"), std::string::npos) << plain.body;
  for (const char* target : {"/v1/notifications/abc?x=1", "/v1/notifications/abc?", "/v1/notifications/abc#top",
                             "/v1/notifications/abc?x=1&y=/v1/dead"}) {
    const auto r = get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(r.body, plain.body) << target;
  }
  EXPECT_EQ(get("/healthz?probe=1").status, 200);
  EXPECT_EQ(get("/v1/dead?limit=5").status, 200);
}

TEST_F(Routing, ThePathIsPercentDecodedOnce) {
  const auto r = get("/v1/notifications/a%62c");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("request_id":"abc")"), std::string::npos) << r.body;
}

TEST_F(Routing, PostWithAQueryStringReachesTheSubmitEndpoint) {
  const auto r = ingress->handle("POST", "/v1/notifications?dry=1", kBearer,
                                 R"({"request_id": "def", "external_user_id": "u", "message": "m"})", false);
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(get("/v1/notifications/def?fields=all").status, 200);
}

TEST_F(Routing, UnknownPathsAndMalformedTargetsAreRefused) {
  const auto unknown = get("/v1/nope?x=1");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("/v1/nope"), std::string::npos) << unknown.body;
  EXPECT_EQ(unknown.body.find("x=1"), std::string::npos) << "the 404 names the path, not the query: " << unknown.body;
  EXPECT_EQ(get("/v1/notifications/missing?x=1").status, 404);
  EXPECT_EQ(get("/v1/notifications/%zz").status, 400);
}

TEST_F(Routing, TheTokenIsCheckedWhateverTheQuery) {
  EXPECT_EQ(ingress->handle("GET", "/v1/notifications/abc?token=routing-test-token", "", "", false).status, 401);
}

TEST(IngressAccess, MetricsTakeEitherTokenReadyzIsOpenUnlessConfiguredHealthzAlwaysOpen) {
  notify::testing::TempDir dir;
  QueueOptions qo;
  qo.clock = std::make_shared<notify::toolkit::ManualClock>();
  auto q = SqliteQueue::open(dir.path() / "queue.db", qo);
  ASSERT_TRUE(q.ok()) << q.error().message;
  DeliveryMetrics metrics;
  auto make = [&](bool readyz_requires_token) {
    IngressOptions io;
    io.token.emplace(std::string("api-token"));
    io.metrics_token.emplace(std::string("scrape-token"));
    io.readyz_requires_token = readyz_requires_token;
    return std::make_unique<IngressService>(
        std::move(io), **q, metrics, [] { return true; }, [] {}, std::make_shared<notify::testing::CapturingLog>());
  };
  auto open = make(false);
  EXPECT_EQ(open->handle("GET", "/metrics", "Bearer scrape-token", "", false).status, 200);
  EXPECT_EQ(open->handle("GET", "/metrics", "Bearer api-token", "", false).status, 200);
  EXPECT_EQ(open->handle("GET", "/metrics", "", "", false).status, 401);
  EXPECT_EQ(open->handle("GET", "/metrics", "Bearer wrong", "", false).status, 401);
  // The scrape token opens nothing else.
  EXPECT_EQ(open->handle("GET", "/v1/dead", "Bearer scrape-token", "", false).status, 401);
  EXPECT_EQ(open->precheck("POST", "/v1/notifications", "Bearer scrape-token", 10)->status, 401);
  EXPECT_EQ(open->handle("GET", "/readyz", "", "", false).status, 200);
  EXPECT_EQ(open->handle("GET", "/healthz", "", "", false).status, 200);
  auto closed = make(true);
  EXPECT_EQ(closed->handle("GET", "/readyz", "", "", false).status, 401);
  EXPECT_EQ(closed->handle("GET", "/readyz", "Bearer api-token", "", false).status, 200);
  EXPECT_EQ(closed->handle("GET", "/healthz", "", "", false).status, 200);
}

TEST(IngressAccess, PrecheckDecidesFromHeadersAlone) {
  notify::testing::TempDir dir;
  auto q = SqliteQueue::open(dir.path() / "queue.db", QueueOptions{});
  ASSERT_TRUE(q.ok()) << q.error().message;
  DeliveryMetrics metrics;
  IngressOptions io;
  io.token.emplace(std::string("api-token"));
  io.max_body_bytes = 100;
  IngressService ingress(
      std::move(io), **q, metrics, [] { return true; }, [] {}, std::make_shared<notify::testing::CapturingLog>());
  EXPECT_EQ(ingress.precheck("POST", "/v1/notifications", "", 10)->status, 401);
  EXPECT_EQ(ingress.precheck("POST", "/v1/notifications", "Bearer api-token", 101)->status, 413);
  EXPECT_EQ(ingress.precheck("GET", "/v1/notifications", "Bearer api-token", std::nullopt)->status, 405);
  EXPECT_FALSE(ingress.precheck("POST", "/v1/notifications", "Bearer api-token", 100));  // go on: read the body
  EXPECT_FALSE(ingress.precheck("POST", "/v1/notifications", "Bearer api-token", std::nullopt));  // chunked
}
