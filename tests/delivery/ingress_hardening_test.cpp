// The ingress under hostile or slow clients, over real sockets on 127.0.0.1 (an in-process IngressService on an
// ephemeral port, a real SQLite queue): refusals decided from the headers come before the body is read, a body that
// trickles is cut off, and one client cannot occupy every worker.
#include "parent/ingress/ingress_service.hpp"
#include "parent/queue/sqlite_queue.hpp"

#include "capturing_log.hpp"
#include "host_process.hpp"
#include "wait_until.hpp"

#include <notify/toolkit/clock.hpp>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <gtest/gtest.h>

#include <thread>

using notify::delivery::QueueOptions;
using notify::delivery::SqliteQueue;
using notify::services::DeliveryMetrics;
using notify::services::IngressOptions;
using notify::services::IngressService;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "hardening-test-token";

struct IngressHardening : ::testing::Test {
  notify::testing::TempDir dir;
  std::unique_ptr<SqliteQueue> queue;
  DeliveryMetrics metrics;
  std::unique_ptr<IngressService> ingress;

  void start(IngressOptions o) {
    auto q = SqliteQueue::open(dir.path() / "queue.db", QueueOptions{});
    ASSERT_TRUE(q.ok()) << q.error().message;
    queue = std::move(q.value());
    o.listen = "127.0.0.1:0";
    o.token.emplace(kToken);
    ingress = std::make_unique<IngressService>(
        std::move(o), *queue, metrics, [] { return true; }, [] {}, std::make_shared<notify::testing::CapturingLog>());
    ASSERT_TRUE(ingress->start().ok());
  }
  void TearDown() override {
    if (ingress) ingress->stop();
  }

  Poco::Net::StreamSocket connect() {
    Poco::Net::StreamSocket s(Poco::Net::SocketAddress(ingress->bound_address()));
    s.setReceiveTimeout(Poco::Timespan(20, 0));  // a server that never answers fails the test instead of hanging it
    return s;
  }
  static void send_text(Poco::Net::StreamSocket& s, const std::string& text) {
    s.sendBytes(text.data(), static_cast<int>(text.size()));
  }
  /// Everything the server sends until it closes the connection (or the receive timeout passes: then `closed` is
  /// false).
  static std::string read_until_closed(Poco::Net::StreamSocket& s, bool& closed) {
    std::string out;
    char buf[4096];
    closed = false;
    try {
      for (;;) {
        const int n = s.receiveBytes(buf, sizeof buf);
        if (n <= 0) {
          closed = true;
          break;
        }
        out.append(buf, static_cast<std::size_t>(n));
      }
    } catch (const Poco::Exception&) {
    }
    return out;
  }
  /// One complete request on a fresh connection; the status code of the answer (0 when none).
  int status_of(const std::string& request) {
    auto s = connect();
    send_text(s, request);
    bool closed = false;
    s.shutdownSend();
    const auto answer = read_until_closed(s, closed);
    return answer.size() > 12 ? std::stoi(answer.substr(9, 3)) : 0;
  }
};

std::string post_headers(std::size_t content_length, const std::string& token) {
  std::string h = "POST /v1/notifications HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n";
  if (!token.empty()) h += "Authorization: Bearer " + token + "\r\n";
  return h + "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
}

}  // namespace

TEST_F(IngressHardening, AnUnauthenticatedBodyIsRefusedBeforeItIsRead) {
  start({});
  auto s = connect();
  // Headers announcing a megabyte, then ten bytes of it, then nothing: the 401 must come without the rest.
  send_text(s, post_headers(1'000'000, "") + "{\"request_");
  bool closed = false;
  const auto answer = read_until_closed(s, closed);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 401") << answer;
  EXPECT_NE(answer.find("Connection: Close"), std::string::npos) << answer;  // Poco's spelling
  EXPECT_TRUE(closed) << "the server must close a connection whose body it did not read";
  EXPECT_EQ(queue->depth().value(), 0u);
}

TEST_F(IngressHardening, AWrongTokenIsRefusedTheSameWay) {
  start({});
  auto s = connect();
  send_text(s, post_headers(500'000, "not-the-token"));
  bool closed = false;
  const auto answer = read_until_closed(s, closed);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 401") << answer;
  EXPECT_TRUE(closed);
}

TEST_F(IngressHardening, AnOversizedContentLengthIsRefusedBeforeTheBody) {
  IngressOptions o;
  o.max_body_bytes = 1000;
  start(o);
  auto s = connect();
  send_text(s, post_headers(50'000'000, kToken));
  bool closed = false;
  const auto answer = read_until_closed(s, closed);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 413") << answer;
  EXPECT_NE(answer.find("larger than 1000"), std::string::npos) << answer;
  EXPECT_TRUE(closed) << "the server must not wait for fifty megabytes it has refused";
}

TEST_F(IngressHardening, ARefusedSmallBodySentAtOnceStillGetsItsAnswer) {
  start({});
  // What curl with a wrong token does: headers and body in one go. The answer must arrive, not a reset.
  const std::string body = R"({"request_id":"a","external_user_id":"u","message":"m"})";
  EXPECT_EQ(status_of(post_headers(body.size(), "wrong") + body), 401);
  EXPECT_EQ(status_of(post_headers(body.size(), kToken) + body), 202);
}

TEST_F(IngressHardening, ABodyThatTricklesIsCutOffWith408) {
  IngressOptions o;
  o.body_timeout = 300ms;
  start(o);
  auto s = connect();
  send_text(s, post_headers(100, kToken));
  bool refused = false;
  // One byte every 100 ms: each read is quick, the body as a whole is not.
  for (int i = 0; i < 100 && !refused; ++i) {
    try {
      send_text(s, "x");
    } catch (const Poco::Exception&) {
      refused = true;  // the server has answered and closed
    }
    std::this_thread::sleep_for(100ms);
    refused = refused || s.poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ);
  }
  ASSERT_TRUE(refused) << "the server kept reading a trickling body";
  bool closed = false;
  const auto answer = read_until_closed(s, closed);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 408") << answer;
  EXPECT_EQ(queue->depth().value(), 0u);
}

TEST_F(IngressHardening, OneClientCannotHoldMoreThanItsShareOfWorkers) {
  IngressOptions o;
  o.max_requests_per_client = 1;
  start(o);
  // An authenticated request whose body stays half sent holds a worker (and its client's slot) while it waits.
  auto hold = [&] {
    auto s = connect();
    send_text(s, post_headers(100, kToken) + "{");
    return s;
  };
  auto holder = hold();
  const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
  // Once it is being served, another request from the same address is turned away at once. (A probe can reach a
  // worker first and take the slot, and then it is the holder that gets the 429: it is answered, so readable, and
  // is opened again.)
  std::vector<int> seen;
  EXPECT_TRUE(notify::testing::wait_until(
      [&] {
        if (holder.poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ)) {
          holder = hold();
          return false;
        }
        seen.push_back(status_of(healthz));
        return seen.back() == 429;
      },
      10s))
      << ::testing::PrintToString(seen);
  // When it ends, the client's slot comes back.
  holder.close();
  EXPECT_TRUE(notify::testing::wait_until([&] { return status_of(healthz) == 200; }, 10s));
}
