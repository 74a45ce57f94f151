// Relay: the allowlist decisions and upstream parsing, pure functions (the fast tier; relay_test.cpp relays real
// connections).
#include "parent/relay/relay_service.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace notify;
using namespace notify::relay;

TEST(RelayAllowlist, ExactHostAndPort) {
  const std::vector<AllowEntry> allow{{"rest.iad-01.braze.com", 443}};
  EXPECT_TRUE(check_allowed(allow, "rest.iad-01.braze.com", 443, {}).ok());
  EXPECT_TRUE(check_allowed(allow, "REST.iad-01.Braze.com", 443, {}).ok());  // DNS names are case-insensitive
  auto other = check_allowed(allow, "rest.iad-02.braze.com", 443, {});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.code(), Errc::refused);
  EXPECT_NE(other.message().find("rest.iad-02.braze.com:443"), std::string::npos) << other.message();
  EXPECT_NE(other.message().find("not on the allowlist"), std::string::npos) << other.message();
  // No suffix or prefix matching.
  EXPECT_FALSE(check_allowed(allow, "evil.rest.iad-01.braze.com", 443, {}).ok());
}

TEST(RelayAllowlist, PortMismatchIsRefusedAndSaysSo) {
  const std::vector<AllowEntry> allow{{"rest.iad-01.braze.com", 443}};
  auto st = check_allowed(allow, "rest.iad-01.braze.com", 80, {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not on port 80"), std::string::npos) << st.message();
}

TEST(RelayAllowlist, IpEntriesMatchLiteralsAndResolvedAddressesOnly) {
  const std::vector<AllowEntry> allow{{"10.0.0.5", 443}, {"2001:db8::1", 443}};
  EXPECT_TRUE(check_allowed(allow, "10.0.0.5", 443, {}).ok());
  EXPECT_TRUE(check_allowed(allow, "2001:0db8:0:0::1", 443, {}).ok());  // compared by value, not spelling
  // A name is allowed by an IP entry only when it resolved to that IP (re-checked after every resolution).
  EXPECT_TRUE(check_allowed(allow, "api.example", 443, {"10.0.0.5"}).ok());
  EXPECT_FALSE(check_allowed(allow, "api.example", 443, {"10.0.0.6"}).ok());
  EXPECT_FALSE(check_allowed(allow, "api.example", 443, {}).ok());
  // A name entry does not allow a bare IP.
  EXPECT_FALSE(check_allowed({{"localhost", 443}}, "127.0.0.1", 443, {}).ok());
}

TEST(RelayAllowlist, UpstreamParsing) {
  auto r = parse_upstream("any:8080", "rest.iad-01.braze.com:443");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->upstream_host, "rest.iad-01.braze.com");
  EXPECT_EQ(r->upstream_port, 443);
  auto v6 = parse_upstream("any:8080", "[::1]:443");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->upstream_host, "::1");
  for (const char* bad : {"host", "host:", "host:0", "host:70000", ":443", "host:x"}) {
    auto b = parse_upstream("any:1", bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.error().message.find(bad), std::string::npos) << b.error().message;
  }
}
