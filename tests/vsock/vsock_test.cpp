// vsock transport: address notation and the errors it gives. A real AF_VSOCK round trip needs a vsock loopback
// transport (CID 1), which this kind of machine lacks: those checks run where the kernel has it, and say so otherwise.
#include "vsock_address.hpp"
#include "vsock_transport.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>

using namespace notify;
using namespace notify::vsock;
using namespace std::chrono_literals;

TEST(VsockAddress, NumbersAndWellKnownNames) {
  auto a = parse_vsock_address("16:5000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->cid, 16u);
  EXPECT_EQ(a->port, 5000u);
  EXPECT_EQ(parse_vsock_address("any:5000")->cid, kCidAny);
  EXPECT_EQ(parse_vsock_address("local:1")->cid, 1u);
  EXPECT_EQ(parse_vsock_address("host:8080")->cid, 3u);
  EXPECT_EQ(parse_vsock_address("parent:8080")->cid, 3u);
  EXPECT_EQ(format_vsock_address({kCidAny, 5000}), "any:5000");
  EXPECT_EQ(format_vsock_address({16, 5000}), "16:5000");
}

TEST(VsockAddress, RejectsMalformedNamingTheAddress) {
  for (const char* bad : {"16", "x:1", "16:", ":5000", "16:port", "-1:5", "16:99999999999"}) {
    auto r = parse_vsock_address(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find(std::string("'") + bad + "'"), std::string::npos) << r.error().message;
  }
}

TEST(VsockTransport, CannotConnectToCidAny) {
  VsockTransport t;
  auto r = t.connect("any:5000", 1s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

TEST(VsockTransport, ListensOnAnEphemeralPortOrSaysThereIsNoVsock) {
  VsockTransport t;
  auto l = t.listen("any:0", 4);
  if (!l.ok()) {
    // No vsock in this kernel at all: the error must say so.
    EXPECT_EQ(l.error().code, Errc::unsupported) << l.error().message;
    EXPECT_NE(l.error().message.find("no AF_VSOCK support"), std::string::npos) << l.error().message;
    return;
  }
  EXPECT_EQ(l.value()->local_address().rfind("any:", 0), 0u) << l.value()->local_address();
  EXPECT_NE(l.value()->local_address(), "any:0");
}

// Only where the kernel has the vsock_loopback transport (set NOTIFY_VSOCK_LOOPBACK=1, e.g. inside a VM): on a
// machine whose vsock leads to a hypervisor, a connection to CID 1 would leave the machine, so it is not attempted.
TEST(VsockTransport, LoopbackRoundTrip) {
  if (std::getenv("NOTIFY_VSOCK_LOOPBACK") == nullptr) {
    GTEST_SKIP() << "NOTIFY_VSOCK_LOOPBACK not set: no vsock loopback transport assumed on this machine";
  }
  VsockTransport t;
  auto l = t.listen("any:0", 4);
  ASSERT_TRUE(l.ok()) << l.error().message;
  const auto port = l.value()->local_address().substr(l.value()->local_address().find(':') + 1);
  auto c = t.connect("local:" + port, 2s);
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto s = l.value()->accept(2s);
  ASSERT_TRUE(s.ok()) << s.error().message;
  const std::string msg = "over vsock";
  ASSERT_TRUE(c.value()->write_all(std::as_bytes(std::span(msg)), 1s).ok());
  std::array<std::byte, 32> buf{};
  auto n = s.value()->read_some(buf, 2s);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), *n), msg);
  c.value().reset();
  auto eof = s.value()->read_some(buf, 2s);
  ASSERT_FALSE(eof.ok());
  EXPECT_EQ(eof.error().code, Errc::closed);
}
