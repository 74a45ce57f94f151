// SigV4 against every case of aws-c-auth's published suite (../shared/testdata/sigv4), in header and query mode,
// stage by stage, plus the parts a verifier (the fake KMS) relies on.
#include "aws/sigv4.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace notify::aws {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kSuite = fs::path(NOTIFY_SHARED_TESTDATA) / "sigv4";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every folder with a request.txt, found at run time so a case added to the suite is tested without a code change.
std::vector<std::string> discover_cases() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kSuite, ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "request.txt")) out.push_back(entry.path().filename());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// request.txt: "METHOD target HTTP/1.1", then "Name:value" lines (LF), where a line starting with whitespace
// continues the previous header (kept with its line break, as it was on the wire: folding is the signer's job),
// then optionally a blank line and the body.
UnsignedRequest parse_request(const std::string& text) {
  UnsignedRequest r;
  std::size_t at = text.find('\n');
  const std::string line = text.substr(0, at);
  const auto first_space = line.find(' ');
  const auto last_space = line.rfind(' ');
  if (first_space == std::string::npos || last_space == first_space) throw std::runtime_error("bad request line");
  r.method = line.substr(0, first_space);
  const std::string target = line.substr(first_space + 1, last_space - first_space - 1);
  const auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  at = at == std::string::npos ? text.size() : at + 1;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string l = text.substr(at, end - at);
    at = std::min(end + 1, text.size());
    if (l.empty()) {
      r.body = text.substr(at);
      break;
    }
    if (l[0] == ' ' || l[0] == '\t') {
      if (r.headers.empty()) throw std::runtime_error("continuation line without a header");
      r.headers.back().second.append("\n").append(l);
      continue;
    }
    const auto colon = l.find(':');
    if (colon == std::string::npos) throw std::runtime_error("header line without ':'");
    r.headers.emplace_back(l.substr(0, colon), l.substr(colon + 1));
  }
  return r;
}

struct Context {
  Credentials credentials;
  SigningParams params;
};

Context parse_context(const std::string& json) {
  Poco::JSON::Parser parser;
  const auto root = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
  const auto creds = root->getObject("credentials");
  Context c;
  c.credentials.access_key_id = creds->getValue<std::string>("access_key_id");
  c.credentials.secret_access_key = Secret(creds->getValue<std::string>("secret_access_key"));
  if (creds->has("token")) c.credentials.session_token = Secret(creds->getValue<std::string>("token"));
  c.params.region = root->getValue<std::string>("region");
  c.params.service = root->getValue<std::string>("service");
  // "2015-08-30T12:36:00Z" -> "20150830T123600Z"
  std::string stamp = root->getValue<std::string>("timestamp");
  stamp.erase(std::remove_if(stamp.begin(), stamp.end(), [](char ch) { return ch == '-' || ch == ':'; }), stamp.end());
  const auto t = parse_amz_date(stamp);
  if (!t) throw std::runtime_error("bad timestamp " + stamp);
  c.params.time = *t;
  c.params.normalize_path = root->getValue<bool>("normalize");
  c.params.add_content_sha256 = root->getValue<bool>("sign_body");
  c.params.omit_session_token = root->has("omit_session_token") && root->getValue<bool>("omit_session_token");
  c.params.presign_expires = std::chrono::seconds(root->getValue<int>("expiration_in_seconds"));
  return c;
}

enum class Mode { header, query };
using CaseParam = std::tuple<std::string, Mode>;

class Sigv4Suite : public ::testing::TestWithParam<CaseParam> {};

TEST_P(Sigv4Suite, MatchesEveryStage) {
  const auto& [name, mode] = GetParam();
  const fs::path dir = kSuite / name;
  const std::string prefix = mode == Mode::header ? "header-" : "query-";
  const auto request = parse_request(read_file(dir / "request.txt"));
  const auto context = parse_context(read_file(dir / "context.json"));

  const auto signed_request = mode == Mode::header ? sign_with_header(request, context.credentials, context.params)
                                                   : sign_with_query(request, context.credentials, context.params);
  ASSERT_TRUE(signed_request.ok()) << signed_request.error().message;
  EXPECT_EQ(signed_request->canonical_request, read_file(dir / (prefix + "canonical-request.txt")));
  EXPECT_EQ(signed_request->string_to_sign, read_file(dir / (prefix + "string-to-sign.txt")));
  EXPECT_EQ(signed_request->signature, read_file(dir / (prefix + "signature.txt")));

  const std::string signed_text = read_file(dir / (prefix + "signed-request.txt"));
  if (mode == Mode::header) {
    std::string authorization;
    for (const auto& [k, v] : signed_request->added_headers) {
      if (k == "Authorization") authorization = v;
      // Every header we add is in aws-c-auth's signed request, with the same value.
      EXPECT_NE(signed_text.find("\n" + k + ":" + v + "\n"), std::string::npos) << k;
    }
    ASSERT_FALSE(authorization.empty());
    EXPECT_NE(signed_text.find("\nAuthorization:" + authorization + "\n"), std::string::npos) << authorization;
    EXPECT_EQ(signed_request->added_headers.back().first, "Authorization");
  } else {
    // Our auth parameters, in aws-c-auth's order, end the request line exactly as in the published signed request.
    const auto& q = signed_request->presigned_query;
    const auto auth = q.find("X-Amz-Algorithm=");
    ASSERT_NE(auth, std::string::npos);
    const std::string line = signed_text.substr(0, signed_text.find('\n'));
    const std::string tail = q.substr(auth) + " HTTP/1.1";
    ASSERT_GE(line.size(), tail.size());
    EXPECT_EQ(line.substr(line.size() - tail.size()), tail);
    EXPECT_EQ(q.substr(q.size() - 64), signed_request->signature);
  }
}

std::string case_name(const ::testing::TestParamInfo<CaseParam>& info) {
  std::string n = std::get<0>(info.param) + (std::get<1>(info.param) == Mode::header ? "_header" : "_query");
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

INSTANTIATE_TEST_SUITE_P(AwsCAuth, Sigv4Suite,
                         ::testing::Combine(::testing::ValuesIn(discover_cases()),
                                            ::testing::Values(Mode::header, Mode::query)),
                         case_name);

TEST(Sigv4SuiteFolder, HasEveryPublishedCase) {
  // A missing or partly copied suite must not pass by testing nothing.
  EXPECT_GE(discover_cases().size(), 38u) << kSuite;
}

// --- unit tests --------------------------------------------------------------------------------------------------

Credentials example_credentials() {
  Credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  return c;
}

SigningParams example_params() {
  SigningParams p;
  p.region = "us-east-1";
  p.service = "kms";
  p.time = *parse_amz_date("20150830T123600Z");
  return p;
}

UnsignedRequest kms_request() {
  UnsignedRequest r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"Host", "kms.us-east-1.amazonaws.com"},
               {"Content-Type", "application/x-amz-json-1.1"},
               {"X-Amz-Target", "TrentService.Decrypt"}};
  r.body = R"({"CiphertextBlob":"AQID"})";
  return r;
}

TEST(Sigv4, AmzDateRoundTrips) {
  const auto t = parse_amz_date("20150830T123600Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count(), 1440938160);
  EXPECT_EQ(amz_date(*t), "20150830T123600Z");
  // Sub-second parts are dropped, not rounded.
  EXPECT_EQ(amz_date(*t + 999ms), "20150830T123600Z");
  const auto leap = *parse_amz_date("20240229T235959Z");
  EXPECT_EQ(amz_date(leap), "20240229T235959Z");
  EXPECT_EQ(amz_date(leap + 1s), "20240301T000000Z");
  EXPECT_EQ(amz_date(std::chrono::system_clock::time_point{}), "19700101T000000Z");
}

TEST(Sigv4, ParseAmzDateRefusesMalformed) {
  for (const char* bad : {"", "20150830T123600", "20150830 123600Z", "2015083OT123600Z", "20150230T123600Z",
                          "20151330T123600Z", "20150830T243600Z", "20150830T126000Z", "20150830T123660Z",
                          "20150830T123600Z ", "+0150830T123600Z", "2015-08-30T12:36:00Z"}) {
    EXPECT_FALSE(parse_amz_date(bad).has_value()) << bad;
  }
}

TEST(Sigv4, EmptyAccessKeyIsRefused) {
  auto creds = example_credentials();
  creds.access_key_id.clear();
  const auto h = sign_with_header(kms_request(), creds, example_params());
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, Errc::invalid_argument);
  EXPECT_NE(h.error().message.find("access key id"), std::string::npos) << h.error().message;
  EXPECT_FALSE(sign_with_query(kms_request(), creds, example_params()).ok());
}

TEST(Sigv4, EmptySecretKeyIsRefused) {
  auto creds = example_credentials();
  creds.secret_access_key = Secret();
  const auto h = sign_with_header(kms_request(), creds, example_params());
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message.find("secret access key"), std::string::npos) << h.error().message;
}

TEST(Sigv4, MissingHostIsRefused) {
  auto r = kms_request();
  r.headers.erase(r.headers.begin());
  for (const auto& result : {sign_with_header(r, example_credentials(), example_params()),
                             sign_with_query(r, example_credentials(), example_params())}) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, Errc::invalid_argument);
    EXPECT_NE(result.error().message.find("Host"), std::string::npos) << result.error().message;
  }
}

TEST(Sigv4, HeadersTheSignerAddsAreRefusedInTheInput) {
  for (const char* name : {"Authorization", "X-Amz-Date", "x-amz-security-token", "X-Amz-Content-Sha256"}) {
    auto r = kms_request();
    r.headers.emplace_back(name, "x");
    const auto h = sign_with_header(r, example_credentials(), example_params());
    ASSERT_FALSE(h.ok()) << name;
    EXPECT_NE(h.error().message.find("already has"), std::string::npos) << h.error().message;
  }
  auto r = kms_request();
  r.query = "X-Amz-Signature=00";
  EXPECT_FALSE(sign_with_query(r, example_credentials(), example_params()).ok());
}

TEST(Sigv4, SecretsNeverAppearInErrorsOrStages) {
  auto creds = example_credentials();
  creds.session_token = Secret("TOKEN-SECRET-VALUE");
  auto r = kms_request();
  r.headers.erase(r.headers.begin());
  const auto h = sign_with_header(r, creds, example_params());
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().message.find("wJalrXUtnFEMI"), std::string::npos);
  const auto ok = sign_with_header(kms_request(), creds, example_params());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->canonical_request.find("wJalrXUtnFEMI"), std::string::npos);
  EXPECT_EQ(ok->string_to_sign.find("wJalrXUtnFEMI"), std::string::npos);
}

TEST(Sigv4, KmsPostSignsTheBodyAndTheToken) {
  auto creds = example_credentials();
  creds.session_token = Secret("session-token");
  const auto r = kms_request();
  const auto h = sign_with_header(r, creds, example_params());
  ASSERT_TRUE(h.ok()) << h.error().message;
  const auto& cr = h->canonical_request;
  EXPECT_EQ(cr.substr(cr.size() - 64), sha256_hex(r.body));
  EXPECT_NE(cr.find("\nx-amz-security-token:session-token\n"), std::string::npos);
  EXPECT_NE(cr.find("\nx-amz-target:TrentService.Decrypt\n"), std::string::npos);
  EXPECT_NE(cr.find("\ncontent-type;host;x-amz-date;x-amz-security-token;x-amz-target\n"), std::string::npos);
  ASSERT_EQ(h->added_headers.size(), 3u);
  EXPECT_EQ(h->added_headers[0].first, "X-Amz-Date");
  EXPECT_EQ(h->added_headers[1].first, "X-Amz-Security-Token");
  EXPECT_EQ(h->added_headers[2].first, "Authorization");

  // A changed body changes the signature (what the fake KMS's verification rests on).
  auto tampered = r;
  tampered.body = R"({"CiphertextBlob":"AQIE"})";
  const auto h2 = sign_with_header(tampered, creds, example_params());
  ASSERT_TRUE(h2.ok());
  EXPECT_NE(h2->signature, h->signature);
}

TEST(Sigv4, AVerifierReproducesTheSignatureFromTheSignedHeaders) {
  auto creds = example_credentials();
  creds.session_token = Secret("tok");
  const auto h = sign_with_header(kms_request(), creds, example_params());
  ASSERT_TRUE(h.ok());
  const auto auth = parse_authorization(h->added_headers.back().second);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(auth->date, "20150830");
  EXPECT_EQ(auth->region, "us-east-1");
  EXPECT_EQ(auth->service, "kms");
  EXPECT_EQ(auth->signature, h->signature);
  EXPECT_EQ(auth->signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"}));
  // The verifier rebuilds the request without the headers the signer adds and signs it again at X-Amz-Date.
  auto again = kms_request();
  std::reverse(again.headers.begin(), again.headers.end());  // header order does not matter
  again.headers.emplace_back("User-Agent", "something");     // unsigned, skipped
  const auto h2 = sign_with_header(again, creds, example_params());
  ASSERT_TRUE(h2.ok());
  EXPECT_EQ(h2->signature, h->signature);
}

TEST(Sigv4, PathSegmentsAreEncodedOnceMoreLikeNonS3Services) {
  UnsignedRequest r;
  r.method = "GET";
  r.path = "/a%20b/./c d/../e";
  r.headers = {{"Host", "example.amazonaws.com"}};
  auto p = example_params();
  const auto h = sign_with_header(r, example_credentials(), p);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->canonical_request.substr(0, h->canonical_request.find('\n', 4)), "GET\n/a%2520b/e");
  p.normalize_path = false;
  const auto u = sign_with_header(r, example_credentials(), p);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->canonical_request.substr(0, u->canonical_request.find('\n', 4)), "GET\n/a%2520b/./c%20d/../e");
}

TEST(Sigv4, QueryIsSortedByEncodedKeyThenValue) {
  UnsignedRequest r;
  r.method = "GET";
  r.path = "/";
  r.query = "b=2&a=z&a=y&c&=x&d=/+";
  r.headers = {{"Host", "example.amazonaws.com"}};
  const auto h = sign_with_header(r, example_credentials(), example_params());
  ASSERT_TRUE(h.ok());
  EXPECT_NE(h->canonical_request.find("\n=x&a=y&a=z&b=2&c=&d=%2F%2B\n"), std::string::npos) << h->canonical_request;
}

TEST(Sigv4, ParseAuthorizationAcceptsTheAwsShape) {
  const auto a = parse_authorization(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(a->date, "20150830");
  EXPECT_EQ(a->region, "us-east-1");
  EXPECT_EQ(a->service, "service");
  EXPECT_EQ(a->signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
  EXPECT_EQ(a->signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  // Without spaces after the commas, as some SDKs send it.
  EXPECT_TRUE(parse_authorization("AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request,SignedHeaders=host,"
                                  "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
                  .ok());
}

TEST(Sigv4, ParseAuthorizationRefusesAndNamesThePart) {
  const std::string sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
  const std::string cred = "Credential=AKID/20150830/us-east-1/kms/aws4_request";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "scheme"},
      {"AWS4-HMAC-SHA1 " + cred + ", SignedHeaders=host, Signature=" + sig, "scheme"},
      {"AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + sig, "Credential"},
      {"AWS4-HMAC-SHA256 " + cred + ", Signature=" + sig, "SignedHeaders"},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host", "Signature"},
      {"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms, SignedHeaders=host, Signature=" + sig, "Credential"},
      {"AWS4-HMAC-SHA256 Credential=AKID/2015083/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=" + sig,
       "Credential"},
      {"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws5_request, SignedHeaders=host, Signature=" + sig,
       "Credential"},
      {"AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=" + sig,
       "Credential"},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=, Signature=" + sig, "SignedHeaders"},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, Signature=" + sig, "SignedHeaders"},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=Host, Signature=" + sig, "SignedHeaders"},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;host, Signature=" + sig, "SignedHeaders"},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + sig.substr(1), "Signature"},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + std::string(64, 'A'), "Signature"},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + sig + ", Signature=" + sig, "Signature"},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + sig + ", Extra=1", "Extra"},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature" + sig, "Signature"},
  };
  for (const auto& [value, part] : cases) {
    const auto a = parse_authorization(value);
    ASSERT_FALSE(a.ok()) << value;
    EXPECT_EQ(a.error().code, Errc::protocol_error);
    EXPECT_NE(a.error().message.find(part), std::string::npos) << value << " -> " << a.error().message;
  }
}

TEST(Sigv4, Sha256HexIsLowercaseHex) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("Param1=value1"), "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

}  // namespace
}  // namespace notify::aws
