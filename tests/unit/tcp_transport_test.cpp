// The tcp transport against real sockets: address forms, clean errors naming the address, timeouts, EOF.
#include "tcp_transport.hpp"
#include "held_port.hpp"
#include "tcp_address.hpp"
#include "wait_until.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <functional>
#include <thread>

using namespace notify;
using notify::tcp::TcpTransport;

namespace {

// True while thread `tid` of this process sleeps in the kernel (state S in /proc): a reader blocked in poll().
bool blocked_in_kernel(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto end_of_name = line.rfind(')');  // the state follows the "(name)" field, which may hold spaces
  return end_of_name != std::string::npos && line.size() > end_of_name + 2 && line[end_of_name + 2] == 'S';
}

// Runs `wake` on another thread once the calling thread is blocked (in the call it makes next).
std::thread when_blocked(std::function<void()> wake) {
  return std::thread([tid = ::gettid(), wake = std::move(wake)] {
    EXPECT_TRUE(notify::testing::wait_until([&] { return blocked_in_kernel(tid); }, std::chrono::seconds(10)));
    wake();
  });
}

}  // namespace

TEST(TcpAddress, ParsesV4V6AndNames) {
  auto a = tcp::parse_host_port("127.0.0.1:5000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 5000);
  auto b = tcp::parse_host_port("[::1]:80");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  auto c = tcp::parse_host_port("localhost:0");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(tcp::format_host_port("::1", 80), "[::1]:80");
}

TEST(TcpAddress, RejectsMalformedWithTheAddressInTheMessage) {
  for (const char* bad : {"127.0.0.1", "::1:80", "[::1]80", "host:70000", "host:-1", ":80", "host:http"}) {
    auto r = tcp::parse_host_port(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
}

TEST(TcpTransport, RefusedConnectionNamesTheAddress) {
  TcpTransport t;
  notify::testing::HeldPort port;  // bound, not listening: refused, and no other test can take it meanwhile
  const std::string addr = port.address();
  auto r = t.connect(addr, std::chrono::seconds(2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::refused);
  EXPECT_NE(r.error().message.find(addr), std::string::npos) << r.error().message;
}

TEST(TcpTransport, UnresolvableNameIsNotFound) {
  TcpTransport t;
  auto r = t.connect("no-such-host.invalid:80", std::chrono::seconds(2));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no-such-host.invalid:80"), std::string::npos) << r.error().message;
}

TEST(TcpTransport, Ipv6LoopbackRoundTripAndEof) {
  TcpTransport t;
  auto l = t.listen("[::1]:0", 4);
  if (!l.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << l.error().message;
  EXPECT_EQ(l.value()->local_address().rfind("[::1]:", 0), 0u) << l.value()->local_address();
  auto c = t.connect(l.value()->local_address(), std::chrono::seconds(2));
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto s = l.value()->accept(std::chrono::seconds(2));
  ASSERT_TRUE(s.ok());
  const std::string msg = "hello";
  ASSERT_TRUE(c.value()->write_all(std::as_bytes(std::span(msg)), std::chrono::seconds(1)).ok());
  std::array<std::byte, 8> buf{};
  auto n = s.value()->read_some(buf, std::chrono::seconds(1));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5u);
  c.value().reset();  // close client
  auto eof = s.value()->read_some(buf, std::chrono::seconds(1));
  ASSERT_FALSE(eof.ok());
  EXPECT_EQ(eof.error().code, Errc::closed);
}

TEST(TcpTransport, ReadTimesOutAndShutdownWakesReader) {
  TcpTransport t;
  auto l = t.listen("127.0.0.1:0", 4);
  ASSERT_TRUE(l.ok());
  auto c = t.connect(l.value()->local_address(), std::chrono::seconds(2));
  ASSERT_TRUE(c.ok());
  auto s = l.value()->accept(std::chrono::seconds(2));
  ASSERT_TRUE(s.ok());
  std::array<std::byte, 8> buf{};
  auto r = s.value()->read_some(buf, std::chrono::milliseconds(50));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::timed_out);
  auto closer = when_blocked([&] { s.value()->shutdown(); });
  auto woke = s.value()->read_some(buf, std::chrono::seconds(30));
  closer.join();
  ASSERT_FALSE(woke.ok());
  EXPECT_EQ(woke.error().code, Errc::closed);
}

TEST(TcpTransport, ListenerCloseWakesAccept) {
  TcpTransport t;
  auto l = t.listen("127.0.0.1:0", 4);
  ASSERT_TRUE(l.ok());
  auto closer = when_blocked([&] { l.value()->close(); });
  auto r = l.value()->accept(std::chrono::seconds(30));
  closer.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::closed);
}

TEST(TcpTransport, BindConflictIsAClearError) {
  TcpTransport t;
  auto a = t.listen("127.0.0.1:0", 1);
  ASSERT_TRUE(a.ok());
  // SO_REUSEADDR does not allow two listeners on one port.
  auto b = t.listen(a.value()->local_address(), 1);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find(a.value()->local_address()), std::string::npos) << b.error().message;
}
