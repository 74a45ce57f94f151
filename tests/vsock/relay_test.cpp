// Relay: real relaying over TCP (TLS carried untouched, refusal of a destination not on the allowlist, 200 concurrent
// connections); the allowlist's decisions alone are in relay_allowlist_test.cpp. The same relay over real AF_VSOCK
// runs in tests/vm, where NOTIFY_VSOCK_LOOPBACK is set.
#include "capturing_log.hpp"
#include "parent/relay/relay_service.hpp"
#include "tcp_transport.hpp"
#include "test_pki.hpp"
#include "tls_echo.hpp"
#include "vsock_transport.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <iostream>

using namespace notify;
using namespace notify::relay;
using namespace std::chrono_literals;

namespace {

struct RelayFixture : ::testing::Test {
  std::filesystem::path dir;
  notify::testing::TestPki pki;
  notify::testing::CapturingLog log{LogLevel::debug};
  std::shared_ptr<Transport> tcp = std::make_shared<tcp::TcpTransport>();

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("notify-relay-" + std::to_string(::getpid()) + "-" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir);
    pki = notify::testing::make_test_pki(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  static std::uint16_t port_of(const std::string& address) {
    return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  }

  RelayOptions options_to(const std::string& listen, std::uint16_t upstream_port) {
    RelayOptions o;
    o.routes.push_back({listen, "localhost", upstream_port});
    o.allowlist.push_back({"localhost", upstream_port});
    o.connect_timeout = 2s;
    o.idle_timeout = 30s;
    return o;
  }

  // The relay from `listen_transport` to a TLS echo server over TCP; one TLS round trip through it.
  void tls_through_relay(const std::shared_ptr<Transport>& listen_transport, const std::string& listen,
                         const std::string& connect_prefix) {
    auto ctx = notify::testing::server_tls(pki.server_cert, pki.server_key);
    auto l = tcp->listen("127.0.0.1:0", 64);
    ASSERT_TRUE(l.ok()) << l.error().message;
    notify::testing::EchoServer server(std::move(*l), ctx.get());
    RelayService relay(listen_transport, tcp, options_to(listen, port_of(server.address())), log);
    ASSERT_TRUE(relay.start().ok());
    const auto addr = relay.listen_addresses().at(0);
    EXPECT_TRUE(log.contains("relay listening on " + addr)) << log.all();
    // vsock ports are 32-bit (ephemeral ones often exceed 65535): keep the port as text.
    auto c = listen_transport->connect(connect_prefix + addr.substr(addr.rfind(':') + 1), 5s);
    ASSERT_TRUE(c.ok()) << c.error().message << "\nrelay log:\n" << log.all();
    const std::string msg(100000, 'x');
    EXPECT_EQ(notify::testing::tls_round_trip(**c, pki.ca_cert, msg), msg);
    c->reset();
    const auto stats = relay.stats().destinations.at("localhost:" + std::to_string(port_of(server.address())));
    EXPECT_EQ(stats.connections_total, 1u);
    // Ciphertext went both ways: more than the plaintext, since TLS adds handshake and record overhead.
    EXPECT_GT(stats.bytes_upstream, msg.size());
    EXPECT_GT(stats.bytes_downstream, msg.size());
    relay.stop();
  }
};

}  // namespace

TEST_F(RelayFixture, CarriesTlsUntouchedOverTcp) { tls_through_relay(tcp, "127.0.0.1:0", "127.0.0.1:"); }

TEST_F(RelayFixture, CarriesTlsOverRealVsock) {
  if (std::getenv("NOTIFY_VSOCK_LOOPBACK") == nullptr) {
    GTEST_SKIP() << "NOTIFY_VSOCK_LOOPBACK not set: runs inside the tests/vm VM, where CID 1 loops back";
  }
  tls_through_relay(std::make_shared<vsock::VsockTransport>(), "any:0", "local:");
}

TEST_F(RelayFixture, RefusesADestinationNotOnTheAllowlist) {
  auto l = tcp->listen("127.0.0.1:0", 8);
  ASSERT_TRUE(l.ok());
  notify::testing::EchoServer server(std::move(*l), nullptr);
  auto o = options_to("127.0.0.1:0", port_of(server.address()));
  o.allowlist = {{"localhost", 1}};  // right host, wrong port
  // Config-time check is relay_options_from's; here the connect-time check must refuse as well.
  RelayService relay(tcp, tcp, o, log);
  ASSERT_TRUE(relay.start().ok());
  auto c = tcp->connect(relay.listen_addresses().at(0), 2s);
  ASSERT_TRUE(c.ok());
  std::array<std::byte, 16> buf{};
  auto r = (*c)->read_some(buf, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().code, Errc::timed_out) << "the relay must close a refused connection";
  relay.stop();
  EXPECT_TRUE(log.contains("refused")) << log.all();
  const auto stats = relay.stats().destinations.at("localhost:" + std::to_string(port_of(server.address())));
  EXPECT_EQ(stats.connections_refused, 1u);
  EXPECT_EQ(stats.connections_total, 0u);
}

TEST_F(RelayFixture, TwoHundredConcurrentConnectionsAllComplete) {
  auto l = tcp->listen("127.0.0.1:0", 512);
  ASSERT_TRUE(l.ok());
  notify::testing::EchoServer server(std::move(*l), nullptr);
  RelayService relay(tcp, tcp, options_to("127.0.0.1:0", port_of(server.address())), log);
  ASSERT_TRUE(relay.start().ok());
  const auto addr = relay.listen_addresses().at(0);
  constexpr int kConnections = 200;
  // Open all 200 first, so they are relayed at the same time, then exchange distinct payloads on each.
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < kConnections; ++i) {
    auto c = tcp->connect(addr, 5s);
    ASSERT_TRUE(c.ok()) << c.error().message;
    streams.push_back(std::move(*c));
  }
  std::vector<std::future<bool>> results;
  for (int i = 0; i < kConnections; ++i) {
    results.push_back(std::async(std::launch::async, [&, i] {
      const std::string msg =
          "connection " + std::to_string(i) + ":" + std::string(20000 + i, static_cast<char>('a' + i % 26));
      if (!streams[i]->write_all(std::as_bytes(std::span(msg)), 10s)) return false;
      std::string got;
      std::array<std::byte, 8192> buf{};
      while (got.size() < msg.size()) {
        auto n = streams[i]->read_some(buf, 10s);
        if (!n) return false;
        got.append(reinterpret_cast<const char*>(buf.data()), *n);
      }
      return got == msg;
    }));
  }
  int ok = 0;
  for (auto& f : results) ok += f.get() ? 1 : 0;
  EXPECT_EQ(ok, kConnections);
  streams.clear();
  const auto stats = relay.stats().destinations.at("localhost:" + std::to_string(port_of(server.address())));
  EXPECT_EQ(stats.connections_total, static_cast<std::uint64_t>(kConnections));
  relay.stop();
}
