// Exactly once inside the enclave, through a real enclave notify-host, its Braze plugin and the fake Braze (TLS), with
// link clients of our own standing in for parents: a request_id that arrives again while its first call is still at
// Braze waits for that call's result (find-or-claim), and a deliver whose sender has stopped waiting is not started.
#include "capturing_log.hpp"
#include "fake_braze.hpp"
#include "host_process.hpp"
#include "link/link_client.hpp"
#include "tcp_transport.hpp"
#include "test_pki.hpp"
#include "wait_until.hpp"

#include <gtest/gtest.h>

#include <future>

using namespace notify;
using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

const std::string kKey = "exactly-once-braze-key-5e6f7a8b";

std::string enclave_yaml(const FakeBraze& fake, const TestPki& pki, int workers) {
  return "node: enclave-once\n"
         "providers:\n"
         "  - plugin: braze\n"
         "    config:\n"
         "      endpoint: " +
         fake.url() + "\n      api_key: ${BRAZE_API_KEY}\n      ca_file: " + pki.ca_cert.string() +
         "\n"
         "serve: {transport: tcp, listen: '127.0.0.1:0', workers: " +
         std::to_string(workers) + "}\n";
}

Notification notification(const std::string& id, const std::string& user) {
  Notification n;
  n.request_id = id;
  n.external_user_ids = {user};
  n.title = "T";
  n.message = "exactly once";
  return n;
}

struct Parent {
  CapturingLog log;
  link::LinkClient client;
  Parent(const std::string& address, std::chrono::milliseconds request_timeout)
      : client(std::make_shared<tcp::TcpTransport>(), options(address, request_timeout), log) {
    client.start();
  }
  ~Parent() { client.stop(); }
  static link::ClientOptions options(const std::string& address, std::chrono::milliseconds request_timeout) {
    link::ClientOptions o;
    o.address = address;
    o.request_timeout = request_timeout;
    o.max_attempts = 1;
    o.node_name = "test-parent";
    return o;
  }
};

struct ExactlyOnce : ::testing::Test {
  TempDir dir;
  TestPki pki = make_test_pki(dir.path());
  FakeBraze fake{FakeBraze::Options::over_tls(pki, kKey)};
  std::unique_ptr<HostProcess> enclave;
  std::string address;

  void start_enclave(int workers = 4) {
    enclave = std::make_unique<HostProcess>(enclave_yaml(fake, pki, workers),
                                            std::map<std::string, std::string>{{"BRAZE_API_KEY", kKey}});
    auto a = enclave->wait_listening();
    ASSERT_TRUE(a) << enclave->output();
    address = *a;
  }
};

}  // namespace

TEST_F(ExactlyOnce, TwoConcurrentDeliveriesOfOneRequestIdCallBrazeOnceAndBothGetItsResult) {
  fake.set_latency(1500ms);  // long enough that the second arrives while the first is at Braze
  start_enclave();
  Parent a(address, 20s), b(address, 20s);
  ASSERT_TRUE(a.client.wait_connected(10s));
  ASSERT_TRUE(b.client.wait_connected(10s));
  const auto n = notification("once-1", "user-once-1");
  auto first = std::async(std::launch::async, [&] { return a.client.deliver(std::span(&n, 1)); });
  auto second = std::async(std::launch::async, [&] { return b.client.deliver(std::span(&n, 1)); });
  auto r1 = first.get();
  auto r2 = second.get();
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ((*r1)[0].outcome, Outcome::delivered) << (*r1)[0].reason;
  EXPECT_EQ((*r2)[0].outcome, Outcome::delivered) << (*r2)[0].reason;
  EXPECT_EQ((*r1)[0].reference, (*r2)[0].reference);  // one Braze dispatch_id for both
  EXPECT_EQ(fake.accepted_recipients()["user-once-1"], 1);
  EXPECT_EQ(fake.requests().size(), 1u) << "Braze was called more than once for one request_id";
}

TEST_F(ExactlyOnce, AResendAfterTheParentTimedOutJoinsTheCallStillAtBraze) {
  fake.set_latency(2000ms);
  start_enclave();
  const auto n = notification("once-2", "user-once-2");
  {
    // The first parent gives up after 300 ms, as a parent whose link timeout is shorter than Braze's answer.
    Parent impatient(address, 300ms);
    ASSERT_TRUE(impatient.client.wait_connected(10s));
    auto gave_up = impatient.client.deliver(std::span(&n, 1));
    ASSERT_FALSE(gave_up.ok());
    EXPECT_EQ(gave_up.error().code, Errc::timed_out) << gave_up.error().message;
  }
  // Its re-send (here from a new connection, as after a reconnect) reaches the enclave while the first call is
  // still at Braze: it must wait for that call, not make a second one.
  Parent patient(address, 20s);
  ASSERT_TRUE(patient.client.wait_connected(10s));
  auto r = patient.client.deliver(std::span(&n, 1));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].outcome, Outcome::delivered) << (*r)[0].reason;
  EXPECT_FALSE((*r)[0].reference.empty());
  EXPECT_EQ(fake.accepted_recipients()["user-once-2"], 1);
  EXPECT_EQ(fake.requests().size(), 1u);
  EXPECT_TRUE(enclave->wait_for("arrived again while at the provider", 5s)) << enclave->output();
}

TEST_F(ExactlyOnce, ADeliverWhoseSenderStoppedWaitingIsNotStarted) {
  fake.set_latency(1500ms);
  start_enclave(/*workers=*/1);  // one worker: the second deliver queues behind the first
  Parent busy(address, 20s), hasty(address, 300ms);
  ASSERT_TRUE(busy.client.wait_connected(10s));
  ASSERT_TRUE(hasty.client.wait_connected(10s));
  const auto slow = notification("once-3", "user-slow");
  const auto late = notification("once-4", "user-late");
  auto first = std::async(std::launch::async, [&] { return busy.client.deliver(std::span(&slow, 1)); });
  ASSERT_TRUE(wait_until([&] { return !fake.requests().empty() || fake.max_concurrent_requests() > 0; }, 10s));
  auto gave_up = hasty.client.deliver(std::span(&late, 1));  // waits in the enclave's queue past its 300 ms
  EXPECT_FALSE(gave_up.ok());
  auto r = first.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].outcome, Outcome::delivered);
  // The enclave reaches the hasty deliver after its deadline and does not call Braze for it.
  EXPECT_TRUE(enclave->wait_for("not sent: their deadline had passed", 10s)) << enclave->output();
  EXPECT_EQ(fake.accepted_recipients().count("user-late"), 0u);
  EXPECT_EQ(fake.accepted_recipients()["user-slow"], 1);
}

TEST_F(ExactlyOnce, DeliveriesSharingRequestIdsInOppositeOrderDoNotWaitForEachOther) {
  // [x, y] and [y, x] at once: each may claim one and find the other taken. A delivery waits for the other's ids only
  // after its own are settled, so neither waits for the other in a circle (which would last until the deadline).
  fake.set_latency(1000ms);
  start_enclave();
  Parent a(address, 8s), b(address, 8s);
  ASSERT_TRUE(a.client.wait_connected(10s));
  ASSERT_TRUE(b.client.wait_connected(10s));
  auto x = notification("cross-x", "user-cross-x");
  auto y = notification("cross-y", "user-cross-y");
  y.message = "another text, so x and y are separate Braze calls";
  const std::vector<Notification> xy{x, y}, yx{y, x};
  auto first = std::async(std::launch::async, [&] { return a.client.deliver(xy); });
  auto second = std::async(std::launch::async, [&] { return b.client.deliver(yx); });
  auto r1 = first.get();
  auto r2 = second.get();
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  for (const auto* r : {&*r1, &*r2}) {
    for (const auto& one : *r) EXPECT_EQ(one.outcome, Outcome::delivered) << one.reason;
  }
  EXPECT_EQ(fake.accepted_recipients()["user-cross-x"], 1);
  EXPECT_EQ(fake.accepted_recipients()["user-cross-y"], 1);
}
