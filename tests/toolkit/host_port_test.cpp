#include <notify/toolkit/host_port.hpp>

#include <gtest/gtest.h>

using notify::Errc;
using notify::toolkit::format_host;
using notify::toolkit::format_host_port;
using notify::toolkit::is_ipv6_literal;
using notify::toolkit::parse_host_port;
using notify::toolkit::PortRule;
using notify::toolkit::split_host_port;

TEST(HostPort, ReadsNamesV4AndBracketedV6) {
  auto a = parse_host_port("kms.eu-west-1.amazonaws.com:443", "relay upstream");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->host, "kms.eu-west-1.amazonaws.com");
  EXPECT_EQ(a->port, 443);
  auto b = parse_host_port("10.0.0.1:0", "tcp address");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "10.0.0.1");
  EXPECT_EQ(b->port, 0);
  auto c = parse_host_port("[2001:db8::1]:65535", "tcp address");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "2001:db8::1");
  EXPECT_EQ(c->port, 65535);
  auto d = parse_host_port("[::ffff:1.2.3.4]:80", "x");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "::ffff:1.2.3.4");
}

TEST(HostPort, RefusesMalformedNamingTheSettingAndTheText) {
  for (const char* bad :
       {"127.0.0.1", "::1:80", "[::1]80", "[::1]:", "[::1", "[nothost]:80", "host:70000", "host:-1", ":80", "host:http",
        "host:", "host: 80", "ho st:80", "host/path:80", "a%2:80", "host:+80", "", "[]:80"}) {
    auto r = parse_host_port(bad, "queue.redis_address");
    ASSERT_FALSE(r.ok()) << "'" << bad << "'";
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find(std::string("queue.redis_address '") + bad + "'"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("expected host:port or [v6]:port"), std::string::npos) << r.error().message;
  }
}

TEST(HostPort, SaysWhyAnUnbracketedV6IsRefused) {
  auto r = parse_host_port("::1:443", "relay upstream");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bracketed"), std::string::npos) << r.error().message;
}

TEST(HostPort, PortZeroOnlyWhereAllowed) {
  EXPECT_TRUE(parse_host_port("127.0.0.1:0", "listen", PortRule::any).ok());
  auto r = parse_host_port("127.0.0.1:0", "upstream", PortRule::nonzero);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("from 1 to 65535"), std::string::npos) << r.error().message;
  EXPECT_TRUE(parse_host_port("127.0.0.1:1", "upstream", PortRule::nonzero).ok());
}

TEST(HostPort, SplitLeavesThePortTextToTheCaller) {
  auto s = split_host_port("any:4294967295", "vsock address");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->host, "any");
  EXPECT_EQ(s->port, "4294967295");
  auto v6 = split_host_port("[fe80::1]:x", "x");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "fe80::1");
  EXPECT_EQ(v6->port, "x");
  auto bad = split_host_port("16", "vsock address");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("vsock address '16'"), std::string::npos) << bad.error().message;
}

TEST(HostPort, FormatsBackBracketingV6) {
  EXPECT_EQ(format_host("::1"), "[::1]");
  EXPECT_EQ(format_host("example.com"), "example.com");
  EXPECT_EQ(format_host_port("::1", 8443), "[::1]:8443");
  EXPECT_EQ(format_host_port("10.1.2.3", 80), "10.1.2.3:80");
  for (const char* text : {"[2001:db8::5]:443", "relay.local:8000", "127.0.0.1:0"}) {
    auto hp = parse_host_port(text, "x");
    ASSERT_TRUE(hp.ok()) << text;
    EXPECT_EQ(format_host_port(hp->host, hp->port), text);
  }
}

TEST(HostPort, KnowsAnIpv6Literal) {
  EXPECT_TRUE(is_ipv6_literal("::1"));
  EXPECT_TRUE(is_ipv6_literal("2001:db8::1"));
  EXPECT_FALSE(is_ipv6_literal("127.0.0.1"));
  EXPECT_FALSE(is_ipv6_literal("example.com"));
  EXPECT_FALSE(is_ipv6_literal(""));
  EXPECT_FALSE(is_ipv6_literal("[::1]"));
}
