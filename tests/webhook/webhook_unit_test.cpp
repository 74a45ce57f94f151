// Standard Webhooks signing (against the spec's published test vector), the JSON payload, and what each answer of a
// receiver means for the notification.
#include "webhook_payload.hpp"
#include "webhook_response.hpp"
#include "webhook_signature.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

using namespace notify;
using namespace notify::webhook;
using namespace std::chrono_literals;

namespace {

const std::string kSpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

http::HttpResult answer(int status, std::map<std::string, std::string> headers = {}, std::string body = {}) {
  http::HttpResult r;
  r.response = http::HttpResponse{status, std::move(headers), std::move(body), 2};
  return r;
}

}  // namespace

TEST(WebhookSignature, MatchesTheStandardWebhooksTestVector) {
  auto key = decode_signing_key(kSpecSecret);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(sign(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // The prefix is optional; the key is the same.
  auto bare = decode_signing_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(bare);
  EXPECT_EQ(sign(*bare, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSignature, EveryPartOfTheSignedContentCounts) {
  auto key = decode_signing_key(kSpecSecret);
  ASSERT_TRUE(key);
  const auto base = sign(*key, "msg_1", 1614265330, "{}");
  EXPECT_NE(sign(*key, "msg_2", 1614265330, "{}"), base);
  EXPECT_NE(sign(*key, "msg_1", 1614265331, "{}"), base);
  EXPECT_NE(sign(*key, "msg_1", 1614265330, "{ }"), base);
  auto other = decode_signing_key("whsec_" + std::string(32, 'A'));
  ASSERT_TRUE(other);
  EXPECT_NE(sign(*other, "msg_1", 1614265330, "{}"), base);
}

TEST(WebhookSignature, MalformedSecretsAreRefusedWithoutEchoingThem) {
  const std::vector<std::string> malformed = {"whsec_", "", "whsec_not*base64!!", "whsec_c2hvcnQ=" /* 5 bytes */,
                                              "whsec_" + std::string(100, 'A') /* 75 bytes */};
  for (const auto& bad : malformed) {
    auto key = decode_signing_key(bad);
    ASSERT_FALSE(key) << bad;
    EXPECT_EQ(key.error().code, Errc::invalid_argument);
    const auto body = bad.substr(bad.starts_with("whsec_") ? 6 : 0);
    if (body.size() >= 4) {
      EXPECT_EQ(key.error().message.find(body), std::string::npos) << key.error().message;
    }
  }
}

TEST(WebhookPayload, CarriesTheNotificationInTheStandardShape) {
  Notification n;
  n.request_id = "req-42";
  n.external_user_ids = {"u1", "u2"};
  n.title = "Hi \"there\"";
  n.message = "Line\nbreak";
  n.custom_data = {{"k", "v"}};
  n.trigger_properties_json = R"({"coupon": "X1", "n": 3})";
  n.campaign_id = "camp";
  auto body = build_payload(n, std::chrono::system_clock::from_time_t(1614265330));
  ASSERT_TRUE(body) << body.error().message;
  Poco::JSON::Parser parser;
  auto root = parser.parse(*body).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(root->getValue<std::string>("type"), "notification.send");
  EXPECT_EQ(root->getValue<std::string>("timestamp"), "2021-02-25T15:02:10Z");
  auto data = root->getObject("data");
  ASSERT_TRUE(data);
  EXPECT_EQ(data->getValue<std::string>("request_id"), "req-42");
  EXPECT_EQ(data->getArray("external_user_ids")->size(), 2u);
  EXPECT_EQ(data->getValue<std::string>("title"), "Hi \"there\"");
  EXPECT_EQ(data->getValue<std::string>("message"), "Line\nbreak");
  EXPECT_EQ(data->getObject("custom_data")->getValue<std::string>("k"), "v");
  EXPECT_EQ(data->getObject("trigger_properties")->getValue<int>("n"), 3);
  EXPECT_EQ(data->getValue<std::string>("campaign_id"), "camp");
  EXPECT_FALSE(data->has("canvas_id"));
  for (const char* absent : {"device_tokens", "topic", "ttl", "priority", "collapse_key"}) {
    EXPECT_FALSE(data->has(absent)) << absent;
  }
}

TEST(WebhookPayload, CarriesThePushFieldsWhenTheNotificationHasThem) {
  Notification n;
  n.request_id = "req-43";
  n.device_tokens = {"tok-1", "tok-2"};
  n.ttl = std::chrono::seconds(600);
  n.priority = Priority::high;
  n.collapse_key = "score";
  auto body = build_payload(n, std::chrono::system_clock::from_time_t(1614265330));
  ASSERT_TRUE(body) << body.error().message;
  Poco::JSON::Parser parser;
  auto data = parser.parse(*body).extract<Poco::JSON::Object::Ptr>()->getObject("data");
  auto tokens = data->getArray("device_tokens");
  ASSERT_TRUE(tokens);
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ(tokens->getElement<std::string>(1), "tok-2");
  EXPECT_EQ(data->getValue<int>("ttl"), 600);
  EXPECT_EQ(data->getValue<std::string>("priority"), "high");
  EXPECT_EQ(data->getValue<std::string>("collapse_key"), "score");
  EXPECT_FALSE(data->has("topic"));
  n.device_tokens.clear();
  n.topic = "news";
  n.priority = Priority::normal;
  auto topic = build_payload(n, std::chrono::system_clock::from_time_t(1614265330));
  ASSERT_TRUE(topic);
  Poco::JSON::Parser p2;
  auto d2 = p2.parse(*topic).extract<Poco::JSON::Object::Ptr>()->getObject("data");
  EXPECT_EQ(d2->getValue<std::string>("topic"), "news");
  EXPECT_EQ(d2->getValue<std::string>("priority"), "normal");
}

TEST(WebhookPayload, RefusesWhatCannotBeSent) {
  Notification n;
  n.external_user_ids = {"u"};
  auto no_id = build_payload(n, std::chrono::system_clock::now());
  ASSERT_FALSE(no_id);
  EXPECT_NE(no_id.error().message.find("request_id"), std::string::npos);
  n.request_id = "r1";
  for (const char* bad : {"{not json", "[1,2]", "42"}) {
    n.trigger_properties_json = bad;
    auto r = build_payload(n, std::chrono::system_clock::now());
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("r1: trigger_properties_json is not a JSON object"), std::string::npos);
  }
}

TEST(WebhookResponse, MapsEachAnswerToTheRightOutcome) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  for (int ok : {200, 201, 202, 204}) {
    auto d = map_result(answer(ok), "msg-1", now);
    EXPECT_EQ(d.outcome, Outcome::delivered) << ok;
    EXPECT_EQ(d.reference, "msg-1");
  }
  for (int bad : {400, 401, 403, 404, 410, 413, 422}) {
    auto d = map_result(answer(bad, {}, "nope"), "m", now);
    EXPECT_EQ(d.outcome, Outcome::rejected) << bad;
    EXPECT_NE(d.reason.find("HTTP " + std::to_string(bad) + ": nope"), std::string::npos) << d.reason;
  }
  auto limited = map_result(answer(429, {{"retry-after", "7"}}), "m", now);
  EXPECT_EQ(limited.outcome, Outcome::retryable);
  EXPECT_EQ(limited.retry_after, 7000ms);
  auto timeout = map_result(answer(408), "m", now);
  EXPECT_EQ(timeout.outcome, Outcome::retryable);
  EXPECT_EQ(timeout.retry_after, 0ms);
  auto down = map_result(answer(503, {{"retry-after", "Wed, 21 Oct 2015 07:28:20 GMT"}}), "m", now);
  EXPECT_EQ(down.outcome, Outcome::retryable);
  EXPECT_EQ(down.retry_after, 20000ms);
  EXPECT_EQ(map_result(answer(500), "m", now).outcome, Outcome::retryable);
  auto moved = map_result(answer(302), "m", now);
  EXPECT_EQ(moved.outcome, Outcome::rejected);
  EXPECT_NE(moved.reason.find("redirects are not followed"), std::string::npos);

  http::HttpResult failed;
  failed.failure = {Errc::refused, http::Sent::no, "POST https://h:443: refused (not sent)"};
  auto f = map_result(failed, "m", now);
  EXPECT_EQ(f.outcome, Outcome::retryable);
  EXPECT_EQ(f.reason, failed.failure.message);
}

TEST(WebhookResponse, AnswerExcerptsAreShortAndPrintable) {
  auto d = map_result(answer(400, {}, std::string(1000, 'x') + "\x01"), "m", std::chrono::system_clock::now());
  EXPECT_LT(d.reason.size(), 300u);
  EXPECT_NE(d.reason.find("..."), std::string::npos);
}
