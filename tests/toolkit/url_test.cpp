#include <notify/toolkit/url.hpp>

#include <gtest/gtest.h>

using notify::Errc;
using notify::toolkit::parse_endpoint_url;

TEST(EndpointUrl, ReadsHttpsWithDefaultAndExplicitPorts) {
  auto a = parse_endpoint_url("https://rest.iad-01.braze.com", {"https"}, "braze endpoint");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->scheme, "https");
  EXPECT_EQ(a->host, "rest.iad-01.braze.com");
  EXPECT_EQ(a->port, 443);
  EXPECT_EQ(a->host_header(), "rest.iad-01.braze.com");
  EXPECT_EQ(a->authority(), "rest.iad-01.braze.com:443");

  auto b = parse_endpoint_url("http://127.0.0.1:8080/", {"https", "http"}, "x");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->scheme, "http");
  EXPECT_EQ(b->port, 8080);
  EXPECT_EQ(b->host_header(), "127.0.0.1:8080");

  auto c = parse_endpoint_url("HTTPS://KMS.us-east-1.AmazonAWS.com/", {"https"}, "x");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->scheme, "https");
  EXPECT_EQ(c->host, "kms.us-east-1.amazonaws.com");
}

TEST(EndpointUrl, ReadsABracketedIpv6Host) {
  auto e = parse_endpoint_url("https://[::1]:8443", {"https"}, "braze endpoint");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->host, "::1");  // bare: what SNI and getaddrinfo take
  EXPECT_EQ(e->port, 8443);
  EXPECT_EQ(e->host_header(), "[::1]:8443");
  EXPECT_EQ(e->authority(), "[::1]:8443");
  auto d = parse_endpoint_url("https://[2001:db8::7]/", {"https"}, "x");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->host_header(), "[2001:db8::7]");
  EXPECT_EQ(d->authority(), "[2001:db8::7]:443");
}

TEST(EndpointUrl, RefusesWhatIsNotAServerNamingTheSettingAndTheUrl) {
  for (const char* bad :
       {"ftp://x", "https://x/messages/send", "https://x?debug=1", "https://x/#frag", "https://x:99999", "https://x:0",
        "https://[::1", "https://[zz]:443", "https://", "x", "https:x", "https://a%20b", "//x:443"}) {
    auto r = parse_endpoint_url(bad, {"https"}, "braze endpoint");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find(std::string("braze endpoint '") + bad + "'"), std::string::npos)
        << r.error().message;
  }
}

TEST(EndpointUrl, SaysWhatIsWrong) {
  auto path = parse_endpoint_url("https://x/v1", {"https"}, "e");
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.error().message.find("path"), std::string::npos) << path.error().message;
  auto scheme = parse_endpoint_url("http://x", {"https"}, "e");
  ASSERT_FALSE(scheme.ok());
  EXPECT_NE(scheme.error().message.find("must be https://HOST[:PORT]"), std::string::npos) << scheme.error().message;
  auto query = parse_endpoint_url("https://x?a=b", {"https"}, "e");
  ASSERT_FALSE(query.ok());
  EXPECT_NE(query.error().message.find("query"), std::string::npos) << query.error().message;
}

TEST(EndpointUrl, RefusesUserInfoWithoutRepeatingIt) {
  auto r = parse_endpoint_url("https://admin:hunter2@x.example", {"https"}, "kms endpoint");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("user info"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("x.example"), std::string::npos) << r.error().message;
}
