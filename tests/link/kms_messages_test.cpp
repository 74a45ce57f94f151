// The KMS bootstrap's link messages and health's secret states: round trips, and every bound a hostile parent could
// push against, refused at decoding with the field named.
#include "link/frame.hpp"
#include "link/messages.hpp"

#include <gtest/gtest.h>

using namespace notify;
using namespace notify::link;

namespace {

KmsProvisionRequest sample_request() {
  KmsProvisionRequest r;
  r.access_key_id = "ASIAEXAMPLE000000001";
  r.secret_access_key = Secret("secret-access-key-example-000000000000");
  r.session_token = Secret("session-token-example");
  r.expiration_unix = 1'900'000'000;
  r.ciphertexts.push_back({"braze.api_key", std::vector<std::byte>(200, std::byte{7})});
  return r;
}

std::string with(std::string json, const std::string& from, const std::string& to) {
  auto at = json.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return json.replace(at, from.size(), to);
}

}  // namespace

TEST(KmsMessages, ProvisionRequestRoundTrips) {
  const auto json = encode_kms_provision_request(sample_request());
  auto back = decode_kms_provision_request(json);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->access_key_id, "ASIAEXAMPLE000000001");
  EXPECT_EQ(back->secret_access_key.reveal(), "secret-access-key-example-000000000000");
  EXPECT_EQ(back->session_token.reveal(), "session-token-example");
  EXPECT_EQ(back->expiration_unix, 1'900'000'000);
  ASSERT_EQ(back->ciphertexts.size(), 1u);
  EXPECT_EQ(back->ciphertexts[0].name, "braze.api_key");
  EXPECT_EQ(back->ciphertexts[0].blob, std::vector<std::byte>(200, std::byte{7}));
  EXPECT_TRUE(is_known_message_type(static_cast<std::uint8_t>(MessageType::kms_provision_request)));
  EXPECT_STREQ(message_type_name(MessageType::kms_provision_reply), "kms_provision_reply");
}

TEST(KmsMessages, HostileProvisionRequestsAreRefusedNamingTheField) {
  const auto good = encode_kms_provision_request(sample_request());
  struct Case {
    std::string json;
    std::string field;
  };
  auto many = sample_request();
  for (int i = 0; i < 40; ++i)
    many.ciphertexts.push_back({"n" + std::to_string(i), std::vector<std::byte>(1, std::byte{1})});
  auto big_blob = sample_request();
  big_blob.ciphertexts[0].blob.assign(6145, std::byte{1});
  auto long_name = sample_request();
  long_name.ciphertexts[0].name.assign(129, 'n');
  auto long_token = sample_request();
  long_token.session_token = Secret(std::string(8193, 't'));
  const std::vector<Case> cases = {
      {encode_kms_provision_request(many), "ciphertexts: more than 32"},
      {encode_kms_provision_request(big_blob), "ciphertexts[0].blob: larger than KMS's 6144-byte limit"},
      {encode_kms_provision_request(long_name), "ciphertexts[0].name: longer than 128"},
      {encode_kms_provision_request(long_token), "session_token: longer than 8192"},
      {with(good, R"("access_key_id":"ASIAEXAMPLE000000001")", R"("access_key_id":"")"), "access_key_id: empty"},
      {with(good, R"("secret_access_key":"secret-access-key-example-000000000000")", R"("secret_access_key":"")"),
       "secret_access_key: empty"},
      {with(good, R"("name":"braze.api_key")", R"("name":"")"), "ciphertexts[0].name: empty"},
      {with(good, R"("expiration_unix":1900000000)", R"("expiration_unix":-1)"), "expiration_unix"},
      {with(good, R"("ciphertexts":[)", R"("ciphertexts":7,"x":[)"), "ciphertexts: expected an array"},
      {R"({"access_key_id": "A"})", "secret_access_key: missing"},
      {"[]", "payload is not a JSON object"},
  };
  for (const auto& c : cases) {
    auto r = decode_kms_provision_request(c.json);
    ASSERT_FALSE(r) << c.field;
    EXPECT_EQ(r.error().code, Errc::protocol_error);
    EXPECT_NE(r.error().message.find(c.field), std::string::npos) << r.error().message;
    // An error names the field, never the credentials.
    EXPECT_EQ(r.error().message.find("secret-access-key-example"), std::string::npos);
  }
}

TEST(KmsMessages, ReplyAndHealthSecretsRoundTrip) {
  KmsProvisionReply reply;
  reply.outcomes = {{"braze.api_key", true, ""}, {"fcm.key", false, "AccessDeniedException: not this image"}};
  auto back = decode_kms_provision_reply(encode_kms_provision_reply(reply));
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->outcomes.size(), 2u);
  EXPECT_TRUE(back->outcomes[0].installed);
  EXPECT_EQ(back->outcomes[1].detail, "AccessDeniedException: not this image");

  HealthInfo h;
  h.node = "enclave";
  h.secrets = {{"braze.api_key", SecretState::installed, "kms", "kms", ""},
               {"fcm.key", SecretState::failing, "", "kms", "AccessDeniedException: x"},
               {"apns.key", SecretState::missing, "", "", ""}};
  auto hb = decode_health(encode_health(h));
  ASSERT_TRUE(hb) << hb.error().message;
  ASSERT_EQ(hb->secrets.size(), 3u);
  EXPECT_EQ(hb->secrets[0].state, SecretState::installed);
  EXPECT_EQ(hb->secrets[0].origin, "kms");
  EXPECT_EQ(hb->secrets[1].state, SecretState::failing);
  EXPECT_EQ(hb->secrets[1].detail, "AccessDeniedException: x");
  EXPECT_EQ(hb->secrets[2].state, SecretState::missing);
  EXPECT_EQ(hb->secrets[2].source, "");

  // Health from an enclave that reports no secrets (older 1.x) still decodes; an unknown state does not.
  auto old = with(encode_health(HealthInfo{}), R"("secrets":[],)", "");
  EXPECT_TRUE(decode_health(old)) << old;
  auto bad = decode_health(with(encode_health(h), R"("state":"missing")", R"("state":"lost")"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("secrets[2].state: 'lost'"), std::string::npos) << bad.error().message;
}
