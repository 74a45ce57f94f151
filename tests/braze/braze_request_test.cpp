// Braze request building, batching and response mapping: pure functions, checked against golden files written from
// Braze's public API documentation.
#include "braze_request.hpp"
#include "braze_response.hpp"

#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace notify;
using namespace notify::braze;

namespace {

// Canonical form: parsed and re-serialised with sorted keys, so golden files may be formatted for humans.
std::string canonical(const std::string& json) {
  auto v = Poco::JSON::Parser().parse(json);
  std::ostringstream os;
  Poco::JSON::Stringifier::stringify(v, os);
  return os.str();
}

std::string golden(const std::string& name) {
  std::ifstream in(std::string(NOTIFY_BRAZE_GOLDEN_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return canonical(ss.str());
}

Notification seed_notification() {
  // The seed README's custom notification.
  Notification n;
  n.request_id = "r-1";
  n.external_user_ids = {"user123"};
  n.title = "Custom Alert";
  n.message = "This is a custom notification";
  n.custom_data = {{"priority", "high"}, {"category", "alert"}};
  return n;
}

std::vector<Notification> users(std::size_t count, const std::string& title = "Same") {
  std::vector<Notification> out;
  for (std::size_t i = 0; i < count; ++i) {
    Notification n;
    n.request_id = "r" + std::to_string(i);
    n.external_user_ids = {"u" + std::to_string(i)};
    n.title = title;
    n.message = "m";
    out.push_back(n);
  }
  return out;
}

}  // namespace

TEST(BrazeRequest, MessagesSendMatchesGolden) {
  auto a = seed_notification();
  auto b = seed_notification();
  b.request_id = "r-2";
  b.external_user_ids = {"user456"};
  std::vector<Notification> batch = {a, b};
  auto built = build_calls(batch, {});
  ASSERT_EQ(built.calls.size(), 1u);  // same content → merged
  EXPECT_EQ(built.calls[0].path, "/messages/send");
  EXPECT_EQ(canonical(built.calls[0].body), golden("messages_send.json"));
  EXPECT_EQ(built.calls[0].notifications, (std::vector<std::size_t>{0, 1}));
}

TEST(BrazeRequest, CampaignTriggerMatchesGoldenAndCarriesPerRecipientProperties) {
  auto a = seed_notification();
  a.campaign_id = "campaign-42";
  a.trigger_properties_json = R"({"order_id": "A-1", "total": 12.5})";
  auto b = seed_notification();
  b.external_user_ids = {"user456"};
  b.campaign_id = "campaign-42";
  std::vector<Notification> batch = {a, b};
  auto built = build_calls(batch, {});
  ASSERT_EQ(built.calls.size(), 1u);
  EXPECT_EQ(built.calls[0].path, "/campaigns/trigger/send");
  EXPECT_EQ(canonical(built.calls[0].body), golden("campaign_trigger.json"));
  EXPECT_EQ(built.calls[0].body.find("external_user_ids"), std::string::npos);
  EXPECT_EQ(built.calls[0].body.find("messages"), std::string::npos);
}

TEST(BrazeRequest, CanvasTriggerUsesCanvasEntryProperties) {
  auto a = seed_notification();
  a.canvas_id = "canvas-7";
  a.trigger_properties_json = R"({"plan": "pro"})";
  auto built = build_calls(std::span(&a, 1), {});
  ASSERT_EQ(built.calls.size(), 1u);
  EXPECT_EQ(built.calls[0].path, "/canvas/trigger/send");
  EXPECT_EQ(canonical(built.calls[0].body), golden("canvas_trigger.json"));
}

TEST(BrazeRequest, MessagesSendNeverCarriesRecipientsOrTriggerProperties) {
  auto a = seed_notification();
  a.trigger_properties_json = R"({"k": "v"})";  // only meaningful for campaigns; must not leak into /messages/send
  auto built = build_calls(std::span(&a, 1), {});
  ASSERT_EQ(built.calls.size(), 1u);
  EXPECT_EQ(built.calls[0].body.find("recipients"), std::string::npos);
  EXPECT_EQ(built.calls[0].body.find("trigger_properties"), std::string::npos);
}

TEST(BrazeRequest, PlatformsAreConfigurable) {
  auto a = seed_notification();
  ContentOptions only_android;
  only_android.apple = false;
  auto built = build_calls(std::span(&a, 1), only_android);
  EXPECT_EQ(built.calls[0].body.find("apple_push"), std::string::npos);
  EXPECT_NE(built.calls[0].body.find("android_push"), std::string::npos);
}

TEST(BrazeBatching, Boundaries) {
  for (auto [count, calls] : std::vector<std::pair<std::size_t, std::size_t>>{{1, 1}, {50, 1}, {51, 2}, {120, 3}}) {
    auto batch = users(count);
    auto built = build_calls(batch, {});
    ASSERT_EQ(built.calls.size(), calls) << count;
    std::size_t total = 0;
    for (const auto& c : built.calls) {
      EXPECT_LE(c.recipients.size(), kMaxRecipientsPerRequest);
      total += c.recipients.size();
    }
    EXPECT_EQ(total, count);
  }
}

TEST(BrazeBatching, DifferentContentIsNeverMerged) {
  auto batch = users(3, "A");
  auto more = users(2, "B");
  batch.insert(batch.end(), more.begin(), more.end());
  batch[1].custom_data = {{"x", "1"}};  // same title, other extra → own call
  auto built = build_calls(batch, {});
  EXPECT_EQ(built.calls.size(), 3u);
}

TEST(BrazeBatching, ANotificationWithMoreThanFiftyRecipientsIsSplit) {
  Notification n = seed_notification();
  n.external_user_ids.clear();
  for (int i = 0; i < 75; ++i) n.external_user_ids.push_back("u" + std::to_string(i));
  auto built = build_calls(std::span(&n, 1), {});
  ASSERT_EQ(built.calls.size(), 2u);
  EXPECT_EQ(built.calls[0].recipients.size(), 50u);
  EXPECT_EQ(built.calls[1].recipients.size(), 25u);
}

TEST(BrazeLimits, RefusesWhatBrazeWouldRefuseNamingTheLimit) {
  std::vector<Notification> batch(5, seed_notification());
  batch[0].message = std::string(2000, 'x');  // apple_push over 1912 bytes
  batch[1].external_user_ids.clear();
  batch[2].custom_data = {{"aps", "x"}};
  batch[3].custom_data = {{"ab", "x"}};
  ContentOptions android_only;
  android_only.apple = false;
  auto built = build_calls(batch, {});
  ASSERT_TRUE(built.refused[0]);
  EXPECT_NE(built.refused[0]->reason.find("1912"), std::string::npos) << built.refused[0]->reason;
  EXPECT_NE(built.refused[1]->reason.find("no recipients"), std::string::npos);
  EXPECT_NE(built.refused[2]->reason.find("'aps'"), std::string::npos);
  EXPECT_NE(built.refused[3]->reason.find("'ab'"), std::string::npos);
  EXPECT_FALSE(built.refused[4]);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(built.refused[i]->outcome, Outcome::rejected);
  // Android alone allows up to 4000 bytes.
  auto android = build_calls(std::span(&batch[0], 1), android_only);
  EXPECT_FALSE(android.refused[0]);
  batch[0].message = std::string(4100, 'x');
  android = build_calls(std::span(&batch[0], 1), android_only);
  ASSERT_TRUE(android.refused[0]);
  EXPECT_NE(android.refused[0]->reason.find("4000"), std::string::npos);
}

TEST(BrazeLimits, DeviceTokensAndTopicsAreNotBrazeRecipients) {
  std::vector<Notification> batch(3, seed_notification());
  batch[0].device_tokens = {"tok-1"};
  batch[1].external_user_ids.clear();
  batch[1].topic = "news";
  auto built = build_calls(batch, {});
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(built.refused[i]) << i;
    EXPECT_EQ(built.refused[i]->outcome, Outcome::rejected);
    EXPECT_NE(built.refused[i]->reason.find("device_tokens, topic and condition are not Braze recipients"),
              std::string::npos)
        << built.refused[i]->reason;
  }
  EXPECT_FALSE(built.refused[2]);
  // Nothing of the refused ones reaches a call.
  std::size_t recipients = 0;
  for (const auto& c : built.calls) recipients += c.recipients.size();
  EXPECT_EQ(recipients, batch[2].external_user_ids.size());
}

TEST(BrazeResponse, SuccessKeepsDispatchIdAndMinorErrors) {
  HttpResponse r{201, {}, R"({"dispatch_id": "d-1", "message": "success", "errors": ["user999 is not a valid user"]})"};
  auto o = map_response(r, std::chrono::system_clock::now());
  EXPECT_EQ(o.outcome, Outcome::delivered);
  EXPECT_EQ(o.dispatch_id, "d-1");
  ASSERT_EQ(o.minor_errors.size(), 1u);
  // 202 queued during maintenance is accepted as well; an unreadable 2XX body is still not a retry.
  EXPECT_EQ(map_response({202, {}, R"({"message": "queued"})"}, {}).outcome, Outcome::delivered);
  EXPECT_EQ(map_response({201, {}, "<html>"}, {}).outcome, Outcome::delivered);
}

TEST(BrazeResponse, ClientErrorsAreRejectedWithBrazesMessage) {
  for (int status : {400, 401, 403, 404}) {
    auto o = map_response({status, {}, R"({"message": "Invalid API key"})"}, {});
    EXPECT_EQ(o.outcome, Outcome::rejected) << status;
    EXPECT_NE(o.reason.find("HTTP " + std::to_string(status)), std::string::npos);
    EXPECT_NE(o.reason.find("Invalid API key"), std::string::npos);
  }
}

TEST(BrazeResponse, NonJsonErrorBodyKeepsStatusAndTrimmedText) {
  const std::string html = "<html>\n<body>" + std::string(500, 'e') + "</body></html>";
  auto o = map_response({502, {}, html}, {});
  EXPECT_EQ(o.outcome, Outcome::retryable);
  EXPECT_NE(o.reason.find("HTTP 502"), std::string::npos);
  EXPECT_LT(o.reason.size(), 260u);
  EXPECT_EQ(o.reason.find('\n'), std::string::npos);
}

TEST(BrazeResponse, RateLimitedWaitsUntilResetFromLowerCaseHeaders) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  HttpResponse r{429, {{"x-ratelimit-reset", "1700000007"}, {"x-ratelimit-remaining", "0"}}, "{}"};
  auto o = map_response(r, now);
  EXPECT_EQ(o.outcome, Outcome::retryable);
  EXPECT_EQ(o.retry_after, std::chrono::seconds(7));
  auto rl = rate_limit_headers(r);
  EXPECT_EQ(rl.remaining, 0);
  // Without the header: still retryable, with a conservative default wait.
  EXPECT_GT(map_response({429, {}, ""}, now).retry_after.count(), 0);
}

TEST(BrazeResponse, ServerErrorsAreRetryable) {
  for (int status : {500, 502, 503, 504}) EXPECT_EQ(map_response({status, {}, ""}, {}).outcome, Outcome::retryable);
}
