// Link cost against raw TCP on the same loopback, measured in the same run:
//   BM_RawPingPong      300 bytes written, 300 bytes echoed back (the floor for any request/reply)
//   BM_LinkRoundTrip    one ~300-byte notification through LinkClient → LinkServer → handler → reply
//   BM_RawStream        300-byte messages streamed one way, read by a thread (the floor for pipelined throughput)
//   BM_LinkPipelined    notifications delivered by 32 concurrent callers on one link connection
// bench/run-benchmarks.sh turns the JSON output into ratios.
#include "link/link_client.hpp"
#include "link/link_server.hpp"
#include "tcp_transport.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <thread>

using namespace notify;
using namespace std::chrono_literals;

namespace {

class NullLog final : public Log {
 public:
  bool enabled(LogLevel) const noexcept override { return false; }
  void write(LogLevel, std::string_view) noexcept override {}
};

class AckHandler final : public link::RequestHandler {
 public:
  link::HealthInfo health() override { return {}; }
  std::vector<DeliveryResult> deliver(std::vector<Notification> batch,
                                      std::chrono::steady_clock::time_point /*deadline*/,
                                      const PartSink& /*parts*/) override {
    return std::vector<DeliveryResult>(batch.size(), DeliveryResult::delivered("ok"));
  }
  Status provision(const link::ProvisionRequest&) override { return {}; }
  Result<link::AttestReply> attest(const link::AttestRequest&) override { return Error{Errc::unsupported, ""}; }
};

Notification notification_300b() {
  Notification n;
  n.request_id = "5f0c6f3e-8a4e-4c1b-9a57-1d2d3c4b5a69";
  n.external_user_ids = {"user-000123"};
  n.title = "Your order has shipped";
  n.message = "Good news! Your order #123456 is on its way and should arrive within 2 business days.";
  n.custom_data = {{"order", "123456"}, {"deeplink", "app://orders/123456"}};
  return n;
}

struct Pair {
  std::unique_ptr<Stream> client, server;
};

Pair connected_pair() {
  tcp::TcpTransport t;
  auto l = t.listen("127.0.0.1:0", 4);
  auto c = t.connect(l.value()->local_address(), 2s);
  auto s = l.value()->accept(2s);
  return {std::move(c.value()), std::move(s.value())};
}

bool read_exactly(Stream& s, std::span<std::byte> buf) {
  while (!buf.empty()) {
    auto n = s.read_some(buf, 5s);
    if (!n) return false;
    buf = buf.subspan(*n);
  }
  return true;
}

void BM_RawPingPong(benchmark::State& state) {
  auto p = connected_pair();
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    std::array<std::byte, 300> buf{};
    while (!stop && read_exactly(*p.server, buf)) {
      if (!p.server->write_all(buf, 5s)) break;
    }
  });
  std::array<std::byte, 300> msg{};
  for (auto _ : state) {
    p.client->write_all(msg, 5s);
    read_exactly(*p.client, msg);
  }
  stop = true;
  p.client->shutdown();
  echo.join();
  state.SetItemsProcessed(state.iterations());
}

struct LinkFixture {
  AckHandler handler;
  NullLog log;
  std::unique_ptr<link::LinkServer> server;
  std::unique_ptr<link::LinkClient> client;
  LinkFixture() {
    auto t = std::make_shared<tcp::TcpTransport>();
    auto l = t->listen("127.0.0.1:0", 64);
    link::ServerOptions so;
    so.worker_threads = 4;
    server = std::make_unique<link::LinkServer>(std::move(l.value()), handler, so, log);
    server->start();
    link::ClientOptions co;
    co.address = server->local_address();
    client = std::make_unique<link::LinkClient>(t, co, log);
    client->start();
    client->wait_connected(5s);
  }
};

void BM_LinkRoundTrip(benchmark::State& state) {
  LinkFixture f;
  auto n = notification_300b();
  for (auto _ : state) {
    auto r = f.client->deliver(std::span(&n, 1));
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RawStream(benchmark::State& state) {
  auto p = connected_pair();
  std::atomic<std::int64_t> received{0};
  std::thread reader([&] {
    std::array<std::byte, 64 * 1024> buf{};
    for (;;) {
      auto n = p.server->read_some(buf, 5s);
      if (!n) break;
      received += static_cast<std::int64_t>(*n);
    }
  });
  std::array<std::byte, 300> msg{};
  std::int64_t sent = 0;
  for (auto _ : state) {
    p.client->write_all(msg, 5s);
    sent += 300;
  }
  while (received.load() < sent) std::this_thread::yield();  // count only bytes that arrived
  p.client->shutdown();
  reader.join();
  state.SetItemsProcessed(state.iterations());
}

std::unique_ptr<LinkFixture>& pipelined_fixture() {
  static std::unique_ptr<LinkFixture> fixture;
  return fixture;
}

void BM_LinkPipelined(benchmark::State& state) {
  // Thread 0 builds the fixture before the start barrier and tears it down after the stop barrier that Google
  // Benchmark places around the timed loop, so every thread sees it alive while it runs.
  if (state.thread_index() == 0) pipelined_fixture() = std::make_unique<LinkFixture>();
  auto n = notification_300b();
  for (auto _ : state) {
    auto r = pipelined_fixture()->client->deliver(std::span(&n, 1));
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) pipelined_fixture().reset();
}

// The same, with the protocol's batching: 50 notifications per deliver frame (Braze's per-request maximum).
void BM_LinkPipelinedBatch50(benchmark::State& state) {
  if (state.thread_index() == 0) pipelined_fixture() = std::make_unique<LinkFixture>();
  std::vector<Notification> batch(50, notification_300b());
  for (auto _ : state) {
    auto r = pipelined_fixture()->client->deliver(batch);
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch.size()));
  if (state.thread_index() == 0) pipelined_fixture().reset();
}

}  // namespace

BENCHMARK(BM_RawPingPong)->UseRealTime();
BENCHMARK(BM_LinkRoundTrip)->UseRealTime();
BENCHMARK(BM_RawStream)->UseRealTime();
BENCHMARK(BM_LinkPipelined)->Threads(32)->UseRealTime();
BENCHMARK(BM_LinkPipelinedBatch50)->Threads(8)->UseRealTime();
BENCHMARK_MAIN();
