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
