// FCM pieces without a network: the service account, the RS256 assertion (verified here with OpenSSL against the
// key's public half), message bodies and limits, and what each FCM answer means.
#include "fcm_message.hpp"
#include "fcm_response.hpp"
#include "jwt.hpp"
#include "service_account.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

using namespace notify;
using namespace notify::fcm;
using namespace std::chrono_literals;

namespace {

struct Keys {
  std::string private_pem, public_pem;
};

Keys rsa_keys() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
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

std::string account_json(const std::string& private_pem, const std::string& token_uri = "https://oauth.test/token") {
  Poco::JSON::Object o;
  o.set("type", "service_account");
  o.set("project_id", "proj-1");
  o.set("private_key_id", "kid-9");
  o.set("private_key", private_pem);
  o.set("client_email", "sender@proj-1.iam.gserviceaccount.com");
  o.set("token_uri", token_uri);
  std::ostringstream os;
  o.stringify(os);
  return os.str();
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

std::string fcm_error(int code, const std::string& status, const std::string& error_code) {
  return R"({"error":{"code":)" + std::to_string(code) + R"(,"message":"m","status":")" + status +
         R"(","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":")" + error_code +
         R"("}]}})";
}

}  // namespace

TEST(FcmServiceAccount, ReadsTheFieldsAndNamesWhatIsMissingWithoutQuotingTheKey) {
  auto keys = rsa_keys();
  auto a = parse_service_account(account_json(keys.private_pem));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->client_email, "sender@proj-1.iam.gserviceaccount.com");
  EXPECT_EQ(a->project_id, "proj-1");
  EXPECT_EQ(a->private_key_id, "kid-9");
  EXPECT_EQ(a->private_key.reveal(), keys.private_pem);

  auto no_key = parse_service_account(R"({"client_email":"a","token_uri":"https://t","project_id":"p"})");
  ASSERT_FALSE(no_key);
  EXPECT_NE(no_key.error().message.find("\"private_key\""), std::string::npos);
  auto plain = parse_service_account(account_json(keys.private_pem, "http://oauth.test/token"));
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message.find("token_uri"), std::string::npos);
  auto broken = parse_service_account("{\"private_key\": \"-----BEGIN PRIVATE KEY-----SECRETBYTES");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().message.find("SECRETBYTES"), std::string::npos) << broken.error().message;
}

TEST(FcmJwt, IsAnRs256AssertionThatVerifiesWithThePublicKeyAndCarriesTheClaims) {
  auto keys = rsa_keys();
  auto a = parse_service_account(account_json(keys.private_pem));
  ASSERT_TRUE(a);
  const auto now = std::chrono::system_clock::from_time_t(1700000000);
  auto jwt = make_assertion(*a, now, 7200s);
  ASSERT_TRUE(jwt) << jwt.error().message;
  const auto d1 = jwt->find('.');
  const auto d2 = jwt->rfind('.');
  ASSERT_NE(d1, d2);
  EXPECT_EQ(jwt->find_first_of("+/="), std::string::npos);  // base64url, unpadded

  Poco::JSON::Parser p1, p2;
  auto header = p1.parse(unb64url(jwt->substr(0, d1))).extract<Poco::JSON::Object::Ptr>();
  auto claims = p2.parse(unb64url(jwt->substr(d1 + 1, d2 - d1 - 1))).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(header->getValue<std::string>("alg"), "RS256");
  EXPECT_EQ(header->getValue<std::string>("kid"), "kid-9");
  EXPECT_EQ(claims->getValue<std::string>("iss"), "sender@proj-1.iam.gserviceaccount.com");
  EXPECT_EQ(claims->getValue<std::string>("scope"), "https://www.googleapis.com/auth/firebase.messaging");
  EXPECT_EQ(claims->getValue<std::string>("aud"), "https://oauth.test/token");
  EXPECT_EQ(claims->getValue<std::int64_t>("iat"), 1700000000);
  EXPECT_EQ(claims->getValue<std::int64_t>("exp"), 1700003600);  // capped at an hour

  const std::string input = jwt->substr(0, d2);
  const std::string signature = unb64url(jwt->substr(d2 + 1));
  BIO* bio = BIO_new_mem_buf(keys.public_pem.data(), static_cast<int>(keys.public_pem.size()));
  EVP_PKEY* pub = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(pub, nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pub);
}

TEST(FcmJwt, ABadKeyIsRefusedByName) {
  auto a = parse_service_account(account_json("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"));
  ASSERT_TRUE(a);
  auto jwt = make_assertion(*a, std::chrono::system_clock::now());
  ASSERT_FALSE(jwt);
  EXPECT_NE(jwt.error().message.find("not a PEM private key"), std::string::npos);
  EXPECT_EQ(jwt.error().message.find("not a key"), std::string::npos);
}

TEST(FcmMessage, OneTargetNotificationAndStringData) {
  Notification n;
  n.request_id = "r1";
  n.title = "Hi";
  n.message = "There";
  n.custom_data = {{"k", "v"}};
  for (auto [kind, key] : {std::pair{TargetKind::token, "token"}, std::pair{TargetKind::topic, "topic"},
                           std::pair{TargetKind::condition, "condition"}}) {
    auto body = build_message(n, "target-1", kind);
    ASSERT_TRUE(body) << body.error().message;
    Poco::JSON::Parser parser;
    auto m = parser.parse(*body).extract<Poco::JSON::Object::Ptr>()->getObject("message");
    EXPECT_EQ(m->getValue<std::string>(key), "target-1");
    int targets = 0;
    for (const char* k : {"token", "topic", "condition"}) targets += m->has(k) ? 1 : 0;
    EXPECT_EQ(targets, 1);
    EXPECT_EQ(m->getObject("notification")->getValue<std::string>("title"), "Hi");
    EXPECT_EQ(m->getObject("notification")->getValue<std::string>("body"), "There");
    EXPECT_EQ(m->getObject("data")->getValue<std::string>("k"), "v");
  }
  auto topic = build_message(n, "/topics/news", TargetKind::topic);
  ASSERT_TRUE(topic);
  EXPECT_NE(topic->find(R"("topic":"news")"), std::string::npos) << *topic;
}

TEST(FcmMessage, TtlPriorityAndCollapseKeyGoToTheAndroidAndApnsOverrides) {
  Notification n;
  n.request_id = "r1";
  n.message = "m";
  auto plain = build_message(n, "tok", TargetKind::token);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->find("android"), std::string::npos) << *plain;
  EXPECT_EQ(plain->find("apns"), std::string::npos) << *plain;
  n.ttl = std::chrono::seconds(3600);
  n.priority = Priority::high;
  n.collapse_key = "score";
  auto body = build_message(n, "tok", TargetKind::token);
  ASSERT_TRUE(body) << body.error().message;
  Poco::JSON::Parser parser;
  auto m = parser.parse(*body).extract<Poco::JSON::Object::Ptr>()->getObject("message");
  auto android = m->getObject("android");
  ASSERT_TRUE(android) << *body;
  EXPECT_EQ(android->getValue<std::string>("ttl"), "3600s");
  EXPECT_EQ(android->getValue<std::string>("priority"), "HIGH");
  EXPECT_EQ(android->getValue<std::string>("collapse_key"), "score");
  EXPECT_EQ(m->getObject("apns")->getObject("headers")->getValue<std::string>("apns-priority"), "10");
  n.priority = Priority::normal;
  n.ttl = std::chrono::seconds(0);
  n.collapse_key.clear();
  auto normal = build_message(n, "tok", TargetKind::token);
  ASSERT_TRUE(normal);
  Poco::JSON::Parser p2;
  auto m2 = p2.parse(*normal).extract<Poco::JSON::Object::Ptr>()->getObject("message");
  EXPECT_EQ(m2->getObject("android")->getValue<std::string>("priority"), "NORMAL");
  EXPECT_FALSE(m2->getObject("android")->has("ttl"));
  EXPECT_FALSE(m2->getObject("android")->has("collapse_key"));
  EXPECT_EQ(m2->getObject("apns")->getObject("headers")->getValue<std::string>("apns-priority"), "5");
}

TEST(FcmMessage, RefusesWhatFcmWouldRefuseBeforeSending) {
  Notification n;
  n.request_id = "r2";
  n.title = "T";
  EXPECT_FALSE(build_message(n, "", TargetKind::token));
  n.custom_data = {{"google.sent_time", "1"}};
  auto reserved = build_message(n, "tok", TargetKind::token);
  ASSERT_FALSE(reserved);
  EXPECT_NE(reserved.error().message.find("'google.sent_time' is reserved"), std::string::npos);
  n.custom_data = {{"blob", std::string(4100, 'x')}};
  auto big = build_message(n, "tok", TargetKind::token);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("FCM allows 4096"), std::string::npos) << big.error().message;
  n.custom_data = {{"blob", std::string(3900, 'x')}};
  EXPECT_TRUE(build_message(n, "tok", TargetKind::token));
}

TEST(FcmResponse, MapsFcmErrorsAsDocumented) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);
  auto ok = map_send_result(answer(200, R"({"name":"projects/p/messages/0:1"})"), now);
  EXPECT_EQ(ok.result.outcome, Outcome::delivered);
  EXPECT_EQ(ok.result.reference, "projects/p/messages/0:1");

  auto unregistered = map_send_result(answer(404, fcm_error(404, "NOT_FOUND", "UNREGISTERED")), now);
  EXPECT_EQ(unregistered.result.outcome, Outcome::rejected);
  EXPECT_NE(unregistered.result.reason.find("invalid or expired"), std::string::npos);
  EXPECT_TRUE(unregistered.invalid_token);  // Google's one signal to drop a registration token
  EXPECT_TRUE(map_send_result(answer(404, "not found"), now).invalid_token);
  for (auto [status, google, code] : {std::tuple{400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
                                      std::tuple{403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"},
                                      std::tuple{401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"}}) {
    auto r = map_send_result(answer(status, fcm_error(status, google, code)), now);
    EXPECT_EQ(r.result.outcome, Outcome::rejected) << code;
    EXPECT_FALSE(r.token_refused) << code;
    EXPECT_FALSE(r.invalid_token) << code;  // INVALID_ARGUMENT may be the payload's fault, not the token's
    EXPECT_NE(r.result.reason.find(code), std::string::npos);
  }
  for (auto [status, google, code] :
       {std::tuple{429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"}, std::tuple{503, "UNAVAILABLE", "UNAVAILABLE"},
        std::tuple{500, "INTERNAL", "INTERNAL"}}) {
    auto r = map_send_result(answer(status, fcm_error(status, google, code), {{"retry-after", "12"}}), now);
    EXPECT_EQ(r.result.outcome, Outcome::retryable) << code;
    EXPECT_EQ(r.result.retry_after, 12000ms) << code;
  }
  auto expired = map_send_result(answer(401, R"({"error":{"code":401,"status":"UNAUTHENTICATED"}})"), now);
  EXPECT_EQ(expired.result.outcome, Outcome::retryable);
  EXPECT_TRUE(expired.token_refused);
  auto proxy = map_send_result(answer(502, "<html>bad gateway</html>"), now);
  EXPECT_EQ(proxy.result.outcome, Outcome::retryable);
}
