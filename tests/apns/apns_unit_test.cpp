// APNs pieces without a network: the ES256 provider token (verified here with OpenSSL), payloads and limits, device
// tokens and apns-id, and what each APNs answer means.
#include "apns_payload.hpp"
#include "apns_response.hpp"
#include "provider_token.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

using namespace notify;
using namespace notify::apns;
using namespace std::chrono_literals;

namespace {

struct Keys {
  std::string private_pem, public_pem;
};

Keys keys(EVP_PKEY* key) {
  auto pem = [&](bool priv) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (priv) {
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(bio, key);
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  };
  Keys k{pem(true), pem(false)};
  EVP_PKEY_free(key);
  return k;
}

std::string unb64url(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4 != 0) s += '=';
  std::string out(s.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  std::size_t size = n < 0 ? 0 : static_cast<std::size_t>(n);
  size -= s.ends_with("==") ? 2 : s.ends_with("=") ? 1 : 0;
  out.resize(size);
  return out;
}

http::HttpResult answer(int status, std::string body, std::map<std::string, std::string> headers = {}) {
  http::HttpResult r;
  r.response = http::HttpResponse{status, std::move(headers), std::move(body), 2};
  return r;
}

}  // namespace

TEST(ApnsProviderToken, IsAnEs256JwtThatVerifiesWithThePublicKey) {
  auto k = keys(EVP_EC_gen("P-256"));
  const auto now = std::chrono::system_clock::from_time_t(1700000000);
  auto jwt = make_provider_token(k.private_pem, "ABC123DEFG", "TEAM123456", now);
  ASSERT_TRUE(jwt) << jwt.error().message;
  const auto d1 = jwt->find('.');
  const auto d2 = jwt->rfind('.');
  Poco::JSON::Parser p1, p2;
  auto header = p1.parse(unb64url(jwt->substr(0, d1))).extract<Poco::JSON::Object::Ptr>();
  auto claims = p2.parse(unb64url(jwt->substr(d1 + 1, d2 - d1 - 1))).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(header->getValue<std::string>("alg"), "ES256");
  EXPECT_EQ(header->getValue<std::string>("kid"), "ABC123DEFG");
  EXPECT_EQ(claims->getValue<std::string>("iss"), "TEAM123456");
  EXPECT_EQ(claims->getValue<std::int64_t>("iat"), 1700000000);

  const std::string raw = unb64url(jwt->substr(d2 + 1));
  ASSERT_EQ(raw.size(), 64u);  // r || s, not DER
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  BIO* bio = BIO_new_mem_buf(k.public_pem.data(), static_cast<int>(k.public_pem.size()));
  EVP_PKEY* pub = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const std::string input = jwt->substr(0, d2);
  EXPECT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_len),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pub);
  OPENSSL_free(der);
}

TEST(ApnsProviderToken, RefusesKeysThatCannotSignEs256WithoutQuotingThem) {
  auto rsa = keys(EVP_RSA_gen(2048));
  auto r = make_provider_token(rsa.private_pem, "K", "T", std::chrono::system_clock::now());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a P-256 EC key"), std::string::npos);
  auto junk = make_provider_token("-----BEGIN PRIVATE KEY-----\nSECRETJUNK\n-----END PRIVATE KEY-----\n", "K", "T",
                                  std::chrono::system_clock::now());
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().message.find("SECRETJUNK"), std::string::npos);
}

TEST(ApnsProviderToken, IsReusedUntilInvalidated) {
  auto k = keys(EVP_EC_gen("P-256"));
  ProviderTokens tokens;
  Secret pem(k.private_pem);
  auto a = tokens.get(pem, "K1", "T1");
  auto b = tokens.get(pem, "K1", "T1");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->reveal(), b->reveal());
  tokens.invalidate();
  auto c = tokens.get(pem, "K1", "T1");
  ASSERT_TRUE(c);
  auto d = tokens.get(pem, "K2", "T1");  // another key id: another token
  ASSERT_TRUE(d);
  EXPECT_NE(d->reveal(), c->reveal());
}

TEST(ApnsPayload, CarriesTheAlertAndCustomKeysAndRefusesWhatApnsWould) {
  Notification n;
  n.request_id = "r1";
  n.title = "Hi";
  n.message = "There";
  n.custom_data = {{"deep_link", "app://x"}};
  auto body = build_payload(n);
  ASSERT_TRUE(body) << body.error().message;
  Poco::JSON::Parser parser;
  auto root = parser.parse(*body).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(root->getObject("aps")->getObject("alert")->getValue<std::string>("title"), "Hi");
  EXPECT_EQ(root->getObject("aps")->getObject("alert")->getValue<std::string>("body"), "There");
  EXPECT_EQ(root->getValue<std::string>("deep_link"), "app://x");
  n.custom_data = {{"aps", "x"}};
  EXPECT_FALSE(build_payload(n));
  n.custom_data = {{"blob", std::string(4100, 'x')}};
  auto big = build_payload(n);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("APNs allows 4096"), std::string::npos);
}

TEST(ApnsPayload, DeviceTokensAndApnsIds) {
  EXPECT_TRUE(valid_device_token(std::string(64, 'a')));
  EXPECT_TRUE(valid_device_token(std::string(64, 'F')));
  EXPECT_FALSE(valid_device_token(std::string(63, 'a')));
  EXPECT_FALSE(valid_device_token(std::string(63, 'a') + "g"));
  EXPECT_FALSE(valid_device_token("user123"));
  EXPECT_TRUE(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_FALSE(is_uuid("123e4567e89b12d3a456426614174000"));
  EXPECT_FALSE(is_uuid("req-1"));
}

TEST(ApnsResponse, MapsApnsReasonsAsDocumented) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);
  auto ok = map_result(answer(200, "", {{"apns-id", "123e4567-e89b-12d3-a456-426614174000"}}), now);
  EXPECT_EQ(ok.result.outcome, Outcome::delivered);
  EXPECT_EQ(ok.result.reference, "123e4567-e89b-12d3-a456-426614174000");
  for (auto [status, reason] : {std::pair{400, "BadDeviceToken"}, std::pair{410, "Unregistered"}}) {
    auto r = map_result(answer(status, std::string(R"({"reason":")") + reason + "\"}"), now);
    EXPECT_EQ(r.result.outcome, Outcome::rejected) << reason;
    EXPECT_NE(r.result.reason.find("device token is invalid"), std::string::npos) << reason;
    EXPECT_TRUE(r.invalid_token) << reason;
  }
  // The token may be another app's (a notification sent to the wrong instance): rejected, but not a token to drop.
  auto other_topic = map_result(answer(400, R"({"reason":"DeviceTokenNotForTopic"})"), now);
  EXPECT_EQ(other_topic.result.outcome, Outcome::rejected);
  EXPECT_FALSE(other_topic.invalid_token);
  EXPECT_NE(other_topic.result.reason.find("another topic"), std::string::npos) << other_topic.result.reason;
  for (auto [status, reason] :
       {std::pair{400, "BadTopic"}, std::pair{413, "PayloadTooLarge"}, std::pair{403, "InvalidProviderToken"}}) {
    auto r = map_result(answer(status, std::string(R"({"reason":")") + reason + "\"}"), now);
    EXPECT_EQ(r.result.outcome, Outcome::rejected) << reason;
    EXPECT_FALSE(r.invalid_token) << reason;
  }
  auto expired = map_result(answer(403, R"({"reason":"ExpiredProviderToken"})"), now);
  EXPECT_EQ(expired.result.outcome, Outcome::retryable);
  EXPECT_TRUE(expired.token_expired);
  for (auto [status, reason] : {std::pair{429, "TooManyRequests"}, std::pair{500, "InternalServerError"},
                                std::pair{503, "ServiceUnavailable"}}) {
    auto r = map_result(answer(status, std::string(R"({"reason":")") + reason + "\"}", {{"retry-after", "3"}}), now);
    EXPECT_EQ(r.result.outcome, Outcome::retryable) << reason;
    EXPECT_EQ(r.result.retry_after, 3000ms) << reason;
  }
}
