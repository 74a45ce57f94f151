// The link over real TCP sockets: round trip, pipelining, server restart mid-stream, malformed peers, limits,
// timeouts, and that secrets in provision payloads never reach a log line.
#include "capturing_log.hpp"
#include "held_port.hpp"
#include "link/frame.hpp"
#include "link/frame_io.hpp"
#include "link/link_client.hpp"
#include "link/link_server.hpp"
#include "link/messages.hpp"
#include "tcp_transport.hpp"
#include "wait_until.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

using namespace notify;
using namespace notify::link;
using namespace std::chrono_literals;
using notify::testing::CapturingLog;
using notify::testing::HeldPort;
using notify::testing::wait_until;

namespace {

class EchoHandler final : public RequestHandler {
 public:
  HealthInfo health() override { return {"enclave-test", true, {{"log", true, "ok"}}, {}, 0, 0}; }
  std::vector<DeliveryResult> deliver(std::vector<Notification> batch,
                                      std::chrono::steady_clock::time_point /*deadline*/,
                                      const PartSink& parts) override {
    ++entered;
    if (report_first && parts && !batch.empty()) {  // the first notification's result, before the rest is done
      const PartResult first{0, DeliveryResult::delivered("early-" + batch[0].request_id)};
      parts(std::span(&first, 1));
    }
    {
      // A held handler stalls (as a provider that does not answer) until the test releases it.
      std::unique_lock lock(gate_mu_);
      gate_cv_.wait(lock, [&] { return !held_; });
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);  // simulated work, so requests overlap
    std::vector<DeliveryResult> out;
    for (const auto& n : batch) out.push_back(DeliveryResult::delivered("ref-" + n.request_id));
    delivered += static_cast<int>(batch.size());
    return out;
  }
  Status provision(const ProvisionRequest& r) override {
    last_secret.assign(reinterpret_cast<const char*>(r.payload.data()), r.payload.size());
    return {};
  }
  Result<AttestReply> attest(const AttestRequest&) override { return Error{Errc::unsupported, "no attestation here"}; }

  void hold() {
    std::lock_guard lock(gate_mu_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lock(gate_mu_);
      held_ = false;
    }
    gate_cv_.notify_all();
  }

  std::atomic<int> entered{0};    // deliveries started
  std::atomic<int> delivered{0};  // notifications answered
  std::chrono::milliseconds delay{0};
  bool report_first = false;  // hand the first result to `parts` before stalling
  std::string last_secret;

 private:
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  bool held_ = false;
};

std::shared_ptr<Transport> tcp_transport() { return std::make_shared<notify::tcp::TcpTransport>(); }

struct Server {
  EchoHandler handler;
  CapturingLog log;
  std::unique_ptr<LinkServer> server;
  explicit Server(const std::string& address = "127.0.0.1:0", ServerOptions opts = {})
      : Server(tcp_transport()->listen(address, 64), std::move(opts)) {}
  Server(Result<std::unique_ptr<Listener>> listener, ServerOptions opts) {
    EXPECT_TRUE(listener.ok()) << (listener.ok() ? "" : listener.error().message);
    opts.node_name = "enclave-test";
    server = std::make_unique<LinkServer>(std::move(listener.value()), handler, opts, log);
    server->start();
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() { handler.release(); }  // a held handler must return before the server can stop
  std::string address() const { return server->local_address(); }
};

ClientOptions client_options(const std::string& address) {
  ClientOptions o;
  o.address = address;
  o.node_name = "parent-test";
  o.connect_timeout = 2s;
  o.request_timeout = 10s;
  o.backoff_initial = 10ms;
  o.backoff_max = 200ms;
  return o;
}

Notification make(const std::string& id) {
  Notification n;
  n.request_id = id;
  n.external_user_ids = {"user-" + id};
  n.title = "t";
  n.message = std::string(200, 'm');
  return n;
}

// A raw TCP peer for sending bytes the client would never send.
std::unique_ptr<Stream> raw_connect(const std::string& address) {
  auto s = tcp_transport()->connect(address, 2s);
  EXPECT_TRUE(s.ok());
  return std::move(s.value());
}

void send_hello(Stream& s, std::uint8_t major = kProtocolMajor) {
  FrameHeader h;
  h.major = major;
  h.type = MessageType::hello;
  const std::string body = encode_hello({"raw", major, 0});
  h.payload_size = static_cast<std::uint32_t>(body.size());
  auto header = encode_header(h);
  ASSERT_TRUE(s.write_all(header, 1s).ok());
  ASSERT_TRUE(s.write_all(std::as_bytes(std::span(body)), 1s).ok());
}

// True when the server closed the connection (EOF or reset) within the timeout, after draining what it sent.
bool closed_by_server(Stream& s, std::chrono::milliseconds timeout = 5s) {
  std::array<std::byte, 4096> buf{};
  return wait_until(  // each look blocks in the read itself: no pause between looks
      [&] {
        auto n = s.read_some(buf, 200ms);
        return !n && n.error().code != Errc::timed_out;
      },
      timeout, 0ms);
}

void expect_still_serving(const std::string& address) {
  CapturingLog log;
  LinkClient client(tcp_transport(), client_options(address), log);
  client.start();
  auto n = make("after");
  auto r = client.deliver(std::span(&n, 1));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].reference, "ref-after");
}

}  // namespace

// Protocol 2.4: a result the enclave knows early reaches the parent's caller while the rest of the batch is still
// being worked on (the handler is held), and the reply still carries every result.
TEST(Link, AnEarlyResultReachesTheCallerBeforeTheReply) {
  Server s;
  s.handler.report_first = true;
  s.handler.hold();
  CapturingLog log;
  LinkClient client(tcp_transport(), client_options(s.address()), log);
  client.start();
  ASSERT_TRUE(client.wait_connected(5s));
  std::vector<Notification> batch = {make("a"), make("b")};
  std::mutex mu;
  std::vector<PartResult> early;
  auto delivering = std::async(std::launch::async, [&] {
    return client.deliver(batch, [&](std::span<const PartResult> part) {
      std::lock_guard lock(mu);
      early.insert(early.end(), part.begin(), part.end());
    });
  });
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(mu);
        return !early.empty();
      },
      5s));
  EXPECT_EQ(delivering.wait_for(0s), std::future_status::timeout);  // the reply has not come: the handler is held
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(early.size(), 1u);
    EXPECT_EQ(early[0].index, 0u);
    EXPECT_EQ(early[0].result.reference, "early-a");
  }
  s.handler.release();
  auto r = delivering.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].reference, "ref-b");
}

TEST(Link, RoundTripHealthAndDeliver) {
  Server s;
  CapturingLog log;
  LinkClient client(tcp_transport(), client_options(s.address()), log);
  client.start();
  ASSERT_TRUE(client.wait_connected(5s));
  auto h = client.health();
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_TRUE(h->initialized);
  EXPECT_EQ(h->node, "enclave-test");
  EXPECT_EQ(h->protocol_major, kProtocolMajor);
  std::vector<Notification> batch = {make("a"), make("b"), make("c")};
  auto r = client.deliver(batch);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[2].reference, "ref-c");
  auto a = client.attest({});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, Errc::unsupported);  // an error reply keeps its class across the link
}

TEST(Link, ThousandPipelinedRequestsOnOneConnectionAllMatched) {
  Server s;
  s.handler.delay = 1ms;  // let requests overlap on the server's workers
  CapturingLog log;
  LinkClient client(tcp_transport(), client_options(s.address()), log);
  client.start();
  ASSERT_TRUE(client.wait_connected(5s));
  constexpr int kThreads = 16;
  constexpr int kPerThread = 1000 / kThreads + 1;
  std::atomic<int> matched{0}, mismatched{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto n = make(std::to_string(t) + "-" + std::to_string(i));
        auto r = client.deliver(std::span(&n, 1));
        if (!r.ok())
          ++failed;
        else if ((*r)[0].reference == "ref-" + n.request_id)
          ++matched;
        else
          ++mismatched;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(matched.load(), kThreads * kPerThread);
  EXPECT_EQ(mismatched.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(client.stats().connects, 1u);  // all on one connection
}

TEST(Link, ServerRestartMidStreamEveryRequestGetsResultOrExplicitFailure) {
  auto first = std::make_unique<Server>();
  const std::string address = first->address();
  first->handler.delay = 2ms;
  CapturingLog log;
  auto opts = client_options(address);
  opts.request_timeout = 8s;
  LinkClient client(tcp_transport(), opts, log);
  client.start();
  ASSERT_TRUE(client.wait_connected(5s));

  constexpr int kThreads = 8;
  constexpr int kPerThread = 60;
  std::atomic<int> ok{0}, failed{0};
  std::mutex ids_mu;
  std::set<std::string> ok_ids;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto n = make("r" + std::to_string(t) + "-" + std::to_string(i));
        auto r = client.deliver(std::span(&n, 1));
        if (r.ok() && (*r)[0].reference == "ref-" + n.request_id) {
          ++ok;
          std::lock_guard lock(ids_mu);
          ok_ids.insert(n.request_id);
        } else {
          ++failed;
          // A request may fail while the server is away, but only explicitly, saying why; a success carrying
          // another request's answer is never acceptable.
          if (r.ok()) {
            ADD_FAILURE() << n.request_id << " answered with " << (*r)[0].reference;
          } else {
            EXPECT_FALSE(r.error().message.empty()) << n.request_id << " failed without a reason";
          }
        }
      }
    });
  }
  // Restart while requests are flowing: once a first share of them has been answered by the first server.
  ASSERT_TRUE(wait_until([&] { return first->handler.delivered.load() >= kThreads * 5; }, 30s));
  first.reset();  // stop: in-flight replies are written, then every connection closes
  // The restarted server binds its own address again, as a restarted enclave does (nothing else was handed it).
  auto second = std::make_unique<Server>(address);
  for (auto& th : threads) th.join();
  std::cout << "[ report ] restart: " << ok.load() << " answered, " << failed.load() << " failed explicitly, "
            << client.stats().resent << " resent\n";
  EXPECT_EQ(ok.load() + failed.load(), kThreads * kPerThread);  // nothing dropped or hung
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(second->handler.delivered.load(), 0);  // the restart happened mid-stream: both servers answered
  EXPECT_GE(client.stats().connects, 2u);          // it reconnected to the new server
  EXPECT_EQ(ok_ids.size(), static_cast<std::size_t>(ok.load()));
}

TEST(Link, RequestsWaitForALateServerThenSucceed) {
  HeldPort port;  // refuses connections until the server listens on it
  const std::string address = port.address();
  CapturingLog log;
  LinkClient client(tcp_transport(), client_options(address), log);
  client.start();
  auto pending = std::async(std::launch::async, [&] {
    auto n = make("late");
    return client.deliver(std::span(&n, 1));
  });
  // The server comes up only once the client has found it missing and is retrying.
  ASSERT_TRUE(wait_until([&] { return log.contains("cannot connect to enclave at " + address); }, 10s)) << log.all();
  EXPECT_EQ(pending.wait_for(0s), std::future_status::timeout);  // the request is waiting, not failed
  Server s(port.listen(64), {});
  auto r = pending.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].reference, "ref-late");
}

TEST(Link, UnreachableServerFailsWithTimeoutNamingTheAddress) {
  HeldPort port;  // nobody listens there, and nobody can while the test holds it
  const std::string address = port.address();
  CapturingLog log;
  auto opts = client_options(address);
  opts.request_timeout = 300ms;
  LinkClient client(tcp_transport(), opts, log);
  client.start();
  auto r = client.health();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::timed_out);
  EXPECT_NE(r.error().message.find(address), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("link down"), std::string::npos) << r.error().message;
}

TEST(Link, RequestTimesOutWhenHandlerStalls) {
  Server s;
  s.handler.hold();  // until the end of the test
  CapturingLog log;
  auto opts = client_options(s.address());
  opts.request_timeout = 200ms;
  LinkClient client(tcp_transport(), opts, log);
  client.start();
  ASSERT_TRUE(client.wait_connected(5s));
  auto n = make("slow");
  auto r = client.deliver(std::span(&n, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::timed_out);
}

TEST(Link, StopFailsPendingRequestsWithClosed) {
  Server s;
  s.handler.hold();  // the request stays pending until the client stops
  CapturingLog log;
  LinkClient client(tcp_transport(), client_options(s.address()), log);
  client.start();
  ASSERT_TRUE(client.wait_connected(5s));
  auto pending = std::async(std::launch::async, [&] {
    auto n = make("x");
    return client.deliver(std::span(&n, 1));
  });
  ASSERT_TRUE(wait_until([&] { return s.handler.entered.load() == 1; }, 10s));  // it reached the server
  client.stop();
  auto r = pending.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::closed);
}

TEST(Link, ANotificationWithPushFieldsWaitsForA22EnclaveWhileTheOthersGo) {
  // A 2.1 enclave (raw): it would skip the fields it does not know and push to no one, so the parent sends it only
  // the notifications that do not use them; the others come back retryable, naming both versions.
  auto listener = tcp_transport()->listen("127.0.0.1:0", 4);
  ASSERT_TRUE(listener.ok()) << listener.error().message;
  const std::string address = (*listener)->local_address();
  std::atomic<std::size_t> received{0};
  std::thread peer([&] {
    auto s = (*listener)->accept(5s);
    if (!s) return;
    auto hello = read_frame(**s, 1u << 20, 5s, 5s);
    if (!hello) return;
    FrameHeader h;
    h.minor = 1;
    h.type = MessageType::hello_ok;
    const std::string body = encode_hello({"enclave-2.1", kProtocolMajor, 1});
    h.payload_size = static_cast<std::uint32_t>(body.size());
    if (!(*s)->write_all(encode_header(h), 1s).ok() || !(*s)->write_all(std::as_bytes(std::span(body)), 1s).ok()) {
      return;
    }
    auto deliver = read_frame(**s, 1u << 22, 5s, 5s);
    if (!deliver || deliver->header.type != MessageType::deliver_request) return;
    auto request = decode_deliver_request(deliver->payload);
    if (!request) return;
    received = request->notifications.size();
    std::vector<DeliveryResult> results;
    for (const auto& n : request->notifications) results.push_back(DeliveryResult::delivered("ref-" + n.request_id));
    auto reply =
        encode_frame(MessageType::deliver_reply, deliver->header.correlation_id, encode_deliver_reply(results));
    (void)(*s)->write_all(reply, 1s);
    std::array<std::byte, 256> buf{};
    while ((*s)->read_some(buf, 200ms).ok()) {
    }
  });
  CapturingLog log;
  LinkClient client(tcp_transport(), client_options(address), log);
  client.start();
  ASSERT_TRUE(client.wait_connected(5s));
  std::vector<Notification> batch = {make("users"), make("tokens"), make("ttl")};
  batch[1].external_user_ids.clear();
  batch[1].device_tokens = {"tok-1"};
  batch[2].ttl = 60s;
  auto r = client.deliver(batch);
  client.stop();
  peer.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ(received.load(), 1u) << "only the notification without push fields reached the 2.1 enclave";
  EXPECT_EQ((*r)[0].outcome, Outcome::delivered);
  EXPECT_EQ((*r)[0].reference, "ref-users");
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ((*r)[i].outcome, Outcome::retryable) << i;
    EXPECT_NE((*r)[i].reason.find("speaks protocol 2.1, without device tokens"), std::string::npos) << (*r)[i].reason;
    EXPECT_NE((*r)[i].reason.find("(2.2)"), std::string::npos) << (*r)[i].reason;
  }
}

TEST(LinkServerHardening, GarbageBytesCloseOnlyThatConnection) {
  Server s;
  auto raw = raw_connect(s.address());
  const std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(raw->write_all(std::as_bytes(std::span(junk)), 1s).ok());
  EXPECT_TRUE(closed_by_server(*raw));
  EXPECT_TRUE(s.log.contains("bad magic"));
  expect_still_serving(s.address());
}

TEST(LinkServerHardening, OversizedLengthPrefixClosesBeforeAllocating) {
  ServerOptions opts;
  opts.max_frame_bytes = 1024;
  Server s("127.0.0.1:0", opts);
  auto raw = raw_connect(s.address());
  send_hello(*raw);
  FrameHeader h;
  h.type = MessageType::deliver_request;
  h.correlation_id = 9;
  h.payload_size = 0xFFFFFFF0u;
  ASSERT_TRUE(raw->write_all(encode_header(h), 1s).ok());
  EXPECT_TRUE(closed_by_server(*raw));
  EXPECT_TRUE(s.log.contains("exceeds the maximum of 1024"));
  expect_still_serving(s.address());
}

TEST(LinkServerHardening, TruncatedFrameClosesWithReason) {
  ServerOptions opts;
  opts.io_timeout = 300ms;
  Server s("127.0.0.1:0", opts);
  auto raw = raw_connect(s.address());
  send_hello(*raw);
  FrameHeader h;
  h.type = MessageType::deliver_request;
  h.correlation_id = 1;
  h.payload_size = 100;
  ASSERT_TRUE(raw->write_all(encode_header(h), 1s).ok());
  const std::string part = "{\"notifications\":";
  ASSERT_TRUE(raw->write_all(std::as_bytes(std::span(part)), 1s).ok());  // then nothing more
  EXPECT_TRUE(closed_by_server(*raw));
  EXPECT_TRUE(s.log.contains("truncated frame"));
  expect_still_serving(s.address());
}

TEST(LinkServerHardening, TheOldJsonProtocolOneIsRefusedNamingBothVersions) {
  // A parent built before the CBOR codec (protocol 1.x) is told why, not fed replies it cannot read.
  Server s;
  auto raw = raw_connect(s.address());
  send_hello(*raw, 1);
  auto f = read_frame(*raw, 1 << 20, 5s, 5s);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->header.type, MessageType::error_reply);
  const auto e = decode_error(f->payload);
  EXPECT_EQ(e.code, Errc::protocol_error);
  EXPECT_NE(e.message.find("incompatible link protocol: peer speaks 1."), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("speaks 2." + std::to_string(kProtocolMinor)), std::string::npos) << e.message;
  EXPECT_TRUE(closed_by_server(*raw));
  expect_still_serving(s.address());
}

TEST(LinkServerHardening, WrongMajorVersionGetsAnErrorNamingBothVersions) {
  Server s;
  auto raw = raw_connect(s.address());
  send_hello(*raw, kProtocolMajor + 1);
  auto f = read_frame(*raw, 1 << 20, 5s, 5s);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->header.type, MessageType::error_reply);
  auto e = decode_error(f->payload);
  EXPECT_NE(e.message.find("peer speaks " + std::to_string(kProtocolMajor + 1)), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("speaks " + std::to_string(kProtocolMajor) + "."), std::string::npos) << e.message;
  EXPECT_TRUE(closed_by_server(*raw));
  expect_still_serving(s.address());
}

TEST(LinkServerHardening, MalformedPayloadIsAnErrorReplyNotACrash) {
  Server s;
  auto raw = raw_connect(s.address());
  send_hello(*raw);
  auto ok = read_frame(*raw, 1 << 20, 5s, 5s);
  ASSERT_TRUE(ok.ok());
  // [0, [[42, ...]]]: a deliver whose first notification has a number for its request_id.
  auto bad = encode_frame(MessageType::deliver_request, 5,
                          std::string("\x82\x00\x81\x89\x18\x2a\x81\x61u\x60\x60\xa0\x60\x60\x60\x60", 17));
  ASSERT_TRUE(raw->write_all(bad, 1s).ok());
  auto f = read_frame(*raw, 1 << 20, 5s, 5s);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->header.type, MessageType::error_reply);
  EXPECT_EQ(f->header.correlation_id, 5u);
  EXPECT_NE(decode_error(f->payload).message.find("notifications[0].request_id"), std::string::npos);
}

TEST(LinkServerHardening, ConnectionsBeyondTheLimitAreRefused) {
  ServerOptions opts;
  opts.max_connections = 2;
  Server s("127.0.0.1:0", opts);
  auto a = raw_connect(s.address());
  send_hello(*a);
  auto b = raw_connect(s.address());
  send_hello(*b);
  ASSERT_TRUE(read_frame(*a, 1 << 20, 5s, 5s).ok());
  ASSERT_TRUE(read_frame(*b, 1 << 20, 5s, 5s).ok());
  auto c = raw_connect(s.address());
  EXPECT_TRUE(closed_by_server(*c));
  EXPECT_TRUE(s.log.contains("max_connections (2) reached"));
}

TEST(LinkSecrets, ProvisionPayloadNeverReachesAnyLogLine) {
  Server s;
  CapturingLog log;
  LinkClient client(tcp_transport(), client_options(s.address()), log);
  client.start();
  const std::string secret = "sk-live-DO-NOT-LOG-0123456789abcdef";
  ProvisionRequest req;
  req.secret_name = "braze.api_key";
  req.mode = ProvisionMode::plaintext_insecure;
  req.payload.assign(reinterpret_cast<const std::byte*>(secret.data()),
                     reinterpret_cast<const std::byte*>(secret.data() + secret.size()));
  ASSERT_TRUE(client.provision(req).ok());
  EXPECT_EQ(s.handler.last_secret, secret);
  for (const auto* l : {&log, &s.log}) {
    EXPECT_FALSE(l->all().empty());  // trace logging was on and produced lines
    EXPECT_EQ(l->all().find(secret), std::string::npos);
    EXPECT_EQ(l->all().find("c2stbGl2ZS1ETy1OT1QtTE9H"), std::string::npos);  // nor its base64
  }
}
