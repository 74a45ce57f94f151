// Body parsing for POST /v1/notifications, without a server.
#include "parent/ingress/ingress_validation.hpp"

#include <gtest/gtest.h>

using notify::services::parse_notifications;

TEST(IngressValidation, SeedFieldsMapOntoTheModel) {
  auto r = parse_notifications(R"({"request_id": "r-1", "external_user_ids": ["a", "b"], "title": "Custom Alert",
      "message": "This is a custom notification", "custom_data": {"priority": "high"},
      "trigger_properties": {"n": 1}, "provider": "braze", "campaign_id": "c"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const auto& n = r->front();
  EXPECT_EQ(n.external_user_ids.size(), 2u);
  EXPECT_EQ(n.custom_data.at("priority"), "high");
  EXPECT_EQ(n.trigger_properties_json, R"({"n":1})");
  EXPECT_EQ(n.provider, "braze");
  EXPECT_EQ(n.campaign_id, "c");
}

TEST(IngressValidation, BatchLimits) {
  std::string body = R"({"notifications": [)";
  for (int i = 0; i < 501; ++i)
    body += std::string(i ? "," : "") + R"({"request_id": "r)" + std::to_string(i) +
            R"(", "external_user_id": "u", "message": "m"})";
  body += "]}";
  auto r = parse_notifications(body);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("1 to 500"), std::string::npos);
  EXPECT_FALSE(parse_notifications(R"({"notifications": []})").ok());
  EXPECT_FALSE(parse_notifications(R"({"notifications": [], "x": 1})").ok());
}

TEST(IngressValidation, CustomDataHasAtMostOneHundredKeys) {
  auto with_keys = [](int n) {
    std::string body = R"({"request_id": "r", "external_user_id": "u", "message": "m", "custom_data": {)";
    for (int i = 0; i < n; ++i) body += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\": \"v\"";
    return body + "}}";
  };
  EXPECT_TRUE(parse_notifications(with_keys(100)).ok());
  auto r = parse_notifications(with_keys(101));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("custom_data: more than 100 keys"), std::string::npos) << r.error().message;
}

namespace {
std::string error_of(const std::string& body) {
  auto r = parse_notifications(body);
  EXPECT_FALSE(r.ok()) << body;
  return r.ok() ? std::string() : r.error().message;
}
std::string tokens_json(int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) out += (i ? ",\"tok" : "\"tok") + std::to_string(i) + "\"";
  return out + "]";
}
}  // namespace

TEST(IngressValidation, DeviceTokensTopicTtlPriorityAndCollapseKeyMapOntoTheModel) {
  auto r = parse_notifications(R"({"notifications": [
      {"request_id": "t-1", "device_tokens": ["aa", "bb"], "ttl": 3600, "priority": "high", "collapse_key": "score",
       "message": "m", "provider": "apns-app2"},
      {"request_id": "t-2", "topic": "news.sport-1", "priority": "normal", "message": "m"},
      {"request_id": "t-3", "external_user_id": "u", "message": "m"}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& a = (*r)[0];
  EXPECT_TRUE(a.external_user_ids.empty());
  EXPECT_EQ(a.device_tokens, (std::vector<std::string>{"aa", "bb"}));
  EXPECT_EQ(a.ttl, std::chrono::seconds(3600));
  EXPECT_EQ(a.priority, notify::Priority::high);
  EXPECT_EQ(a.collapse_key, "score");
  EXPECT_EQ(a.provider, "apns-app2");
  EXPECT_EQ((*r)[1].topic, "news.sport-1");
  EXPECT_EQ((*r)[1].priority, notify::Priority::normal);
  EXPECT_EQ((*r)[2].priority, notify::Priority::unset);
  EXPECT_EQ((*r)[2].ttl, std::chrono::seconds(0));
}

TEST(IngressValidation, NewFieldsAreBoundedAndErrorsNameTheField) {
  const std::string head = R"({"request_id": "r", "message": "m", )";
  EXPECT_NE(error_of(R"({"request_id": "r", "message": "m"})")
                .find("external_user_id: give a recipient: external_user_id, external_user_ids, device_tokens, topic "
                      "or condition"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("device_tokens": []})").find("device_tokens: must hold 1 to 50 tokens"),
            std::string::npos);
  EXPECT_TRUE(parse_notifications(head + R"("device_tokens": )" + tokens_json(50) + "}").ok());
  EXPECT_NE(error_of(head + R"("device_tokens": )" + tokens_json(51) + "}").find("device_tokens: must hold 1 to 50"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("device_tokens": "aa"})").find("device_tokens: must be a non-empty array of strings"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("device_tokens": ["aa", ""]})").find("device_tokens[1]: must be a non-empty string"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("device_tokens": ["aa", 7]})").find("device_tokens[1]: must be a non-empty string"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("device_tokens": ["a a"]})").find("device_tokens[0]: only printable ASCII"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("device_tokens": ["aa", "bb", "aa"]})")
                .find("device_tokens[2]: the same token as device_tokens[0]"),
            std::string::npos);
  EXPECT_TRUE(parse_notifications(head + R"("device_tokens": [")" + std::string(1024, 'a') + "\"]}").ok());
  EXPECT_NE(error_of(head + R"("device_tokens": [")" + std::string(1025, 'a') + "\"]}")
                .find("device_tokens[0]: longer than 1024 characters"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("topic": "/topics/news"})").find("topic: only letters, digits"), std::string::npos);
  EXPECT_NE(error_of(head + R"("topic": ""})").find("topic: "), std::string::npos);
  EXPECT_NE(error_of(head + R"("topic": ")" + std::string(901, 'a') + "\"}").find("topic: must be 1 to 900"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("topic": "news", "device_tokens": ["aa"]})").find("topic: give either topic or"),
            std::string::npos);
  const auto cond = parse_notifications(head + R"("condition": "'dogs' in topics || 'cats' in topics"})");
  ASSERT_TRUE(cond.ok()) << cond.error().message;
  EXPECT_EQ(cond->at(0).condition, "'dogs' in topics || 'cats' in topics");
  EXPECT_NE(error_of(head + R"("condition": ""})").find("condition: must be 1 to 1024"), std::string::npos);
  EXPECT_NE(error_of(head + R"("condition": "'a' in topics", "topic": "news"})").find("condition: give one of"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("condition": "'a' in topics", "device_tokens": ["aa"]})").find("condition: give one of"),
            std::string::npos);
  EXPECT_TRUE(parse_notifications(head + R"("topic": "news", "ttl": 2419200})").ok());
  EXPECT_NE(error_of(head + R"("topic": "news", "ttl": 2419201})").find("ttl: must be whole seconds from 0 to 2419200"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("topic": "news", "ttl": -1})").find("ttl: must be whole seconds"), std::string::npos);
  EXPECT_NE(error_of(head + R"("topic": "news", "ttl": "1h"})").find("ttl: must be whole seconds"), std::string::npos);
  EXPECT_NE(error_of(head + R"("topic": "news", "ttl": 1.5})").find("ttl: must be whole seconds"), std::string::npos);
  EXPECT_NE(error_of(head + R"("topic": "news", "priority": "urgent"})").find("priority: must be \"high\" or"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("topic": "news", "priority": 10})").find("priority: must be a string"),
            std::string::npos);
  EXPECT_TRUE(parse_notifications(head + R"("topic": "n", "collapse_key": ")" + std::string(64, 'c') + "\"}").ok());
  EXPECT_NE(error_of(head + R"("topic": "n", "collapse_key": ")" + std::string(65, 'c') + "\"}")
                .find("collapse_key: longer than 64 bytes"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"notifications": [{"request_id": "a", "message": "m", "device_tokens": ["x"]},)"
                     R"({"request_id": "b", "message": "m", "device_tokens": [1]}]})")
                .find("notifications[1].device_tokens[0]"),
            std::string::npos);
}
