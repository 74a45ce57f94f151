// The Standard Webhooks signer against the specification's published example (checked independently with
// `openssl dgst -sha256 -mac HMAC`), and the secret format it accepts.
#include <notify/toolkit/standard_webhooks.hpp>

#include <gtest/gtest.h>

using notify::toolkit::parse_webhook_secret;
using notify::toolkit::sign_webhook;

TEST(StandardWebhooks, MatchesTheSpecificationsVector) {
  auto key = parse_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(sign_webhook(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(StandardWebhooks, EveryPartIsSigned) {
  auto key = parse_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key);
  const auto base = sign_webhook(*key, "id", 1, "{}");
  EXPECT_NE(sign_webhook(*key, "id2", 1, "{}"), base);
  EXPECT_NE(sign_webhook(*key, "id", 2, "{}"), base);
  EXPECT_NE(sign_webhook(*key, "id", 1, "{ }"), base);
}

TEST(StandardWebhooks, RefusesMalformedSecretsWithoutRepeatingThem) {
  for (const char* bad : {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not*base64", "whsec_c2hvcnQ="}) {
    auto key = parse_webhook_secret(bad);
    ASSERT_FALSE(key) << bad;
    EXPECT_EQ(key.error().message.find(bad), std::string::npos) << key.error().message;
  }
  EXPECT_FALSE(parse_webhook_secret("whsec_"));  // no key at all
}
