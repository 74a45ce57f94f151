// braze-load: end-to-end throughput of parent → link → enclave notify-host → Braze plugin → fake Braze, with the fake
// answering after a realistic latency. Reports notifications/s against the ceiling the configuration allows
// (recipients per Braze request × connection pool / latency), and the enclave host's peak RSS.
//
//   braze-load [--seconds S] [--latency-ms L] [--pool N] [--in-flight K] [--rate-per-hour R]
// The plugin's client-side limiter defaults to Braze's 250,000 requests/hour (about 3,470 notifications/s at 50 per
// request); the bench lifts it (R = 10^9) to measure the pipeline itself, unless --rate-per-hour says otherwise.
#include "fake_braze.hpp"
#include "host_process.hpp"
#include "link/link_client.hpp"
#include "tcp_transport.hpp"
#include "test_pki.hpp"

#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

using namespace notify;
using namespace std::chrono;

namespace {

class QuietLog final : public Log {
 public:
  bool enabled(LogLevel l) const noexcept override { return l >= LogLevel::warning; }
  void write(LogLevel, std::string_view m) noexcept override { std::cerr << m << "\n"; }
};

long peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 5, latency_ms = 50, pool = 8, in_flight = 1;
  long long rate_per_hour = 1000000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::stoi(argv[i + 1]);
    if (a == "--seconds")
      seconds = v;
    else if (a == "--latency-ms")
      latency_ms = v;
    else if (a == "--pool")
      pool = v;
    else if (a == "--in-flight")
      in_flight = v;
    else if (a == "--rate-per-hour")
      rate_per_hour = std::stoll(argv[i + 1]);
  }
  const std::string key = "load-test-key-0123456789abcdef";
  testing::TempDir dir;
  auto pki = testing::make_test_pki(dir.path());
  auto fo = testing::FakeBraze::Options::over_tls(pki, key);
  fo.threads = 64;
  testing::FakeBraze fake(fo);
  fake.set_latency(milliseconds(latency_ms));

  testing::HostProcess enclave(
      "node: enclave-load\n"
      "log: {level: warning}\n"
      "providers:\n"
      "  - plugin: braze\n"
      "    config: {endpoint: '" +
          fake.url() + "', api_key: '${LOAD_KEY}', ca_file: '" + pki.ca_cert.string() +
          "', pool_size: " + std::to_string(pool) + ", rate_limit_per_hour: " + std::to_string(rate_per_hour) +
          "}\n"
          "serve: {transport: tcp, listen: '127.0.0.1:0', workers: 8}\n",
      {{"LOAD_KEY", key}, {"NOTIFY_LOG", "warning,link=info"}});
  auto address = enclave.wait_listening();
  if (!address) {
    std::cerr << "enclave did not start:\n" << enclave.output();
    return 1;
  }
  QuietLog log;
  link::ClientOptions co;
  co.address = *address;
  co.request_timeout = std::chrono::seconds(60);
  link::LinkClient client(std::make_shared<tcp::TcpTransport>(), co, log);
  client.start();
  client.wait_connected(std::chrono::seconds(5));

  // One batch = one full Braze request per pooled connection: 50 recipients × pool.
  const std::size_t batch_size = 50 * static_cast<std::size_t>(pool);
  std::atomic<std::uint64_t> delivered{0}, failed{0}, sequence{0};
  std::atomic<bool> stop{false};
  auto worker = [&] {
    while (!stop) {
      std::vector<Notification> batch(batch_size);
      const auto base = sequence.fetch_add(batch_size);
      for (std::size_t i = 0; i < batch_size; ++i) {
        batch[i].request_id = "load-" + std::to_string(base + i);
        batch[i].external_user_ids = {"user-" + std::to_string(base + i)};
        batch[i].title = "Load";
        batch[i].message = "Throughput test";
      }
      auto r = client.deliver(batch);
      if (!r) {
        failed += batch_size;
        continue;
      }
      for (const auto& x : *r) (x.outcome == Outcome::delivered ? delivered : failed)++;
    }
  };
  // Warm up connections, then measure.
  {
    std::vector<Notification> w(batch_size);
    for (std::size_t i = 0; i < batch_size; ++i) {
      w[i].request_id = "warm-" + std::to_string(i);
      w[i].external_user_ids = {"w" + std::to_string(i)};
      w[i].title = "Load";
      w[i].message = "Throughput test";
    }
    client.deliver(w);
  }
  const auto start = steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < in_flight; ++i) threads.emplace_back(worker);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = duration<double>(steady_clock::now() - start).count();
  const double rate = static_cast<double>(delivered.load()) / elapsed;
  // pool_size caps concurrent Braze requests, so more batches in flight cannot raise the ceiling.
  const double ceiling = 50.0 * pool / (latency_ms / 1000.0);
  std::cout << "braze end to end (fake Braze latency " << latency_ms << " ms, pool " << pool << ", " << in_flight
            << " batch(es) of " << batch_size << " in flight):\n"
            << "  delivered " << delivered.load() << " in " << elapsed << " s = " << static_cast<long>(rate)
            << " notifications/s; failed " << failed.load() << "\n"
            << "  ceiling (50 recipients x pool / latency) = " << static_cast<long>(ceiling)
            << " notifications/s; ratio " << rate / ceiling << "\n"
            << "  Braze requests served by the fake: " << fake.requests().size() << "\n"
            << "  enclave host peak RSS: " << peak_rss_kib(enclave.process().pid()) / 1024 << " MiB\n";
  return failed.load() == 0 ? 0 : 1;
}
