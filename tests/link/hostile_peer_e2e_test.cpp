// A hostile parent against a real enclave notify-host: 16 connections, each sending link frames of the largest size
// the enclave accepts, made of the smallest JSON elements (the payload that cost ~1.2 GiB as a DOM). The enclave must
// refuse them, keep its memory bounded — peak RSS read from /proc — and keep serving an honest parent meanwhile.
#include "capturing_log.hpp"
#include "host_process.hpp"
#include "link/cbor_stream.hpp"
#include "link/frame.hpp"
#include "link/frame_io.hpp"
#include "link/link_client.hpp"
#include "link/messages.hpp"
#include "tcp_transport.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <iostream>

using namespace notify;
using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

// VmHWM (peak resident set) of a process, in KiB, from /proc/<pid>/status.
std::size_t peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

// The payload of a hostile deliver: `notifications` records of 1,000 three-byte recipients each (the most a record may
// have), as many as fit in `frame_bytes`; with `poison`, the last record is a number instead, so the enclave decodes
// everything before it (the most it will ever build from one frame) and then refuses the frame.
std::string hostile_payload(std::uint32_t frame_bytes, std::size_t notifications, bool poison) {
  std::string out;
  link::cbor::Writer w(out);
  const std::size_t per_record = 4 + 1000 * 4 + 16;
  const std::size_t fit = std::min<std::size_t>(notifications, (frame_bytes - 16) / per_record);
  w.array(2);
  w.uint(0);
  w.array(fit);
  for (std::size_t n = 0; n < fit; ++n) {
    if (poison && n + 1 == fit) {
      w.uint(7);
      break;
    }
    w.array(9);
    w.text("h" + std::to_string(n));
    w.array(1000);
    for (int u = 0; u < 1000; ++u) w.text("abc");
    w.text("");
    w.text("");
    w.map(0);
    for (int i = 0; i < 4; ++i) w.text("");
  }
  return out;
}

// One hostile connection: a valid hello, then `frames` deliver requests with `payload`.
void hostile(const std::string& address, const std::string& payload, int frames) {
  tcp::TcpTransport tcp;
  auto s = tcp.connect(address, 5s);
  if (!s) return;
  auto& stream = **s;
  const auto hello = link::encode_frame(link::MessageType::hello, 1,
                                        link::encode_hello({"hostile", link::kProtocolMajor, link::kProtocolMinor}));
  if (!stream.write_all(hello, 5s)) return;
  std::array<std::byte, 4096> buf{};
  (void)stream.read_some(buf, 5s);  // hello_ok
  for (int i = 0; i < frames; ++i) {
    const auto frame = link::encode_frame(link::MessageType::deliver_request, 100 + i, payload);
    if (!stream.write_all(frame, 30s)) return;
  }
  // One answer per frame (an error, or "busy"), as the enclave gets to them; so when this returns, it has.
  for (int i = 0; i < frames; ++i) {
    if (!link::read_frame(stream, 1u << 20, 60s, 60s)) return;
  }
}

}  // namespace

TEST(HostilePeer, MaximumFramesOfTinyElementsKeepTheEnclaveBoundedAndServing) {
  TempDir dir;
  HostProcess enclave(
      "node: enclave-hostile\n"
      "providers:\n  - plugin: log\n    config: {output: " +
      (dir.path() / "out.jsonl").string() +
      "}\n"
      "serve: {transport: tcp, listen: '127.0.0.1:0'}\n");
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  const auto idle_kib = peak_rss_kib(enclave.process().pid());

  constexpr int kConnections = 16;
  constexpr std::uint32_t kFrameBytes = (4u << 20) - 64;  // serve.max_frame_bytes' default is 4 MiB
  const auto flood = hostile_payload(kFrameBytes, 1000, false);
  const auto poisoned = hostile_payload(kFrameBytes, 39, true);  // 38 records of 1,003 items: under the 40,000 bound
  std::vector<std::future<void>> attackers;
  for (int i = 0; i < kConnections; ++i) {
    // Half send maximum-size frames of tiny items (refused at the decoder's item bound), half frames just under that
    // bound whose last record is broken (decoded almost whole, then refused).
    attackers.push_back(
        std::async(std::launch::async, [&, i] { hostile(*address, i % 2 == 0 ? flood : poisoned, 3); }));
  }
  // An honest parent is served while the attack runs.
  CapturingLog log;
  link::ClientOptions o;
  o.address = *address;
  o.request_timeout = 30s;
  o.node_name = "honest";
  link::LinkClient honest(std::make_shared<tcp::TcpTransport>(), o, log);
  honest.start();
  ASSERT_TRUE(honest.wait_connected(20s));
  Notification n;
  n.request_id = "honest-1";
  n.external_user_ids = {"u"};
  n.message = "still here";
  auto r = honest.deliver(std::span(&n, 1));
  for (auto& a : attackers) a.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].outcome, Outcome::delivered);
  auto h = honest.health();
  EXPECT_TRUE(h.ok());
  honest.stop();
  EXPECT_TRUE(enclave.process().running()) << enclave.output();
  EXPECT_GT(enclave.process().count("more items than a message may have"), 0u) << "the flood was not refused";
  EXPECT_GT(enclave.process().count("notifications[38]: expected an array"), 0u) << "the poisoned frames got through";

  const auto peak_kib = peak_rss_kib(enclave.process().pid());
  std::cout << "[ memory  ] enclave peak RSS " << peak_kib / 1024 << " MiB (idle " << idle_kib / 1024 << " MiB) under "
            << kConnections << " connections x 3 frames (4 MiB of tiny items, or just under the 40,000-item bound)\n";
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's shadow memory and quarantine make RSS meaningless here; the release build checks the bound.
  std::cout << "[ memory  ] bound not checked under AddressSanitizer\n";
#else
  EXPECT_LE(peak_kib, 128u * 1024) << "issue 10's bound: 128 MiB under a hostile peer";
#endif
}

TEST(HostilePeer, AHelloLargerThanFourKibIsRefusedBeforeTheHandshake) {
  TempDir dir;
  HostProcess enclave(
      "node: enclave-hello\n"
      "providers:\n  - plugin: log\n    config: {output: " +
      (dir.path() / "out.jsonl").string() +
      "}\n"
      "serve: {transport: tcp, listen: '127.0.0.1:0'}\n");
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  tcp::TcpTransport tcp;
  auto s = tcp.connect(*address, 5s);
  ASSERT_TRUE(s.ok()) << s.error().message;
  // A node name of 8 KiB: well-formed, but past what a hello may be before the peer is known.
  const auto hello =
      link::encode_frame(link::MessageType::hello, 1,
                         link::encode_hello({std::string(8192, 'n'), link::kProtocolMajor, link::kProtocolMinor}));
  ASSERT_TRUE((*s)->write_all(hello, 5s).ok());
  auto reply = link::read_frame(**s, 1u << 20, 10s, 10s);
  EXPECT_FALSE(reply.ok()) << "the enclave answered an oversized hello";
  EXPECT_TRUE(
      enclave.wait_for("no valid handshake \\(frame payload of [0-9]+ bytes exceeds the maximum of 4096\\)", 10s))
      << enclave.output();
}
