// real-path-load: the path users get, end to end. HTTP ingress → SQLite queue → dispatcher → link → enclave
// notify-host → Braze plugin (its real client-side rate limiter) → a fake Braze over TLS answering after a fixed
// latency. N notifications are posted in requests of 50 that share their content (so 50 of them make one Braze call),
// and the clock stops when the fake Braze has accepted every recipient. Reported against the ceiling Braze and the
// configuration allow, measured in the same run:
//   min(pool × 50 recipients / latency, 250,000 requests/hour × 50 recipients)
// The plugin's limiter starts with a burst of 100 requests, so a run shorter than that burst plus its refill can
// finish above the hourly rate; the report says how many requests the run made.
//
//   real-path-load [--notifications N] [--latency-ms L[,L2...]] [--pool P] [--window W] [--clients C]
#include "fake_braze.hpp"
#include "host_process.hpp"
#include "test_pki.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

using namespace notify;
using namespace std::chrono;

namespace {

constexpr double kBrazeRequestsPerHour = 250000;
constexpr int kPerRequest = 50;  // notifications per HTTP request, and recipients per Braze call

long peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

struct Round {
  double seconds = 0;
  std::size_t accepted = 0, delivered = 0, duplicated = 0, braze_requests = 0, refused = 0;
  long enclave_rss_mib = 0, parent_rss_mib = 0;
};

// Posts `n` notifications in requests of 50 sharing one title/message, from `clients` keep-alive connections.
std::size_t post_all(const std::string& address, int n, int clients, const std::string& tag, std::size_t& refused) {
  std::atomic<int> next{0};
  std::atomic<std::size_t> accepted{0}, refusals{0};
  auto worker = [&] {
    const auto colon = address.rfind(':');
    Poco::Net::HTTPClientSession s(address.substr(0, colon),
                                   static_cast<Poco::UInt16>(std::stoi(address.substr(colon + 1))));
    s.setKeepAlive(true);
    s.setTimeout(Poco::Timespan(60, 0));
    for (;;) {
      const int first = next.fetch_add(kPerRequest);
      if (first >= n) return;
      const int count = std::min(kPerRequest, n - first);
      std::ostringstream body;
      body << R"({"notifications": [)";
      for (int i = 0; i < count; ++i) {
        body << (i ? "," : "") << R"({"request_id": ")" << tag << "-" << first + i << R"(", "external_user_id": ")"
             << tag << "-user-" << first + i << R"(", "title": "Real path", "message": "Measured as users send"})";
      }
      body << "]}";
      const std::string text = body.str();
      for (int attempt = 0; attempt < 100; ++attempt) {  // 503 (queue full) or 429: back off and send again
        Poco::Net::HTTPRequest req("POST", "/v1/notifications", Poco::Net::HTTPMessage::HTTP_1_1);
        req.setKeepAlive(true);
        req.setContentType("application/json");
        req.setContentLength(static_cast<std::streamsize>(text.size()));
        s.sendRequest(req) << text;
        Poco::Net::HTTPResponse resp;
        std::string reply;
        Poco::StreamCopier::copyToString(s.receiveResponse(resp), reply);
        if (resp.getStatus() == Poco::Net::HTTPResponse::HTTP_ACCEPTED) {
          accepted += static_cast<std::size_t>(count);
          break;
        }
        ++refusals;
        std::this_thread::sleep_for(milliseconds(50));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  refused = refusals.load();
  return accepted.load();
}

Round run_round(int n, int latency_ms, int pool, int window, int clients) {
  const std::string key = "real-path-key-0123456789abcdef";
  testing::TempDir dir;
  auto pki = testing::make_test_pki(dir.path());
  auto fo = testing::FakeBraze::Options::over_tls(pki, key);
  fo.threads = std::max(64, pool * 4);
  testing::FakeBraze fake(fo);
  fake.set_latency(milliseconds(latency_ms));

  // The Braze plugin as deployed: its default rate limit (Braze's 250,000 requests/hour).
  testing::HostProcess enclave(
      "node: enclave-real-path\nlog: {level: warning}\nproviders:\n  - plugin: braze\n"
      "    config: {endpoint: '" +
          fake.url() + "', api_key: '${LOAD_KEY}', ca_file: '" + pki.ca_cert.string() +
          "', pool_size: " + std::to_string(pool) +
          "}\n"
          "serve: {transport: tcp, listen: '127.0.0.1:0', workers: " +
          std::to_string(window + 4) + "}\n",
      {{"LOAD_KEY", key}, {"NOTIFY_LOG", "warning,link=info"}});
  const auto enclave_address = enclave.wait_listening();
  if (!enclave_address) throw std::runtime_error("enclave did not start:\n" + enclave.output());
  testing::HostProcess parent("node: parent-real-path\nlog: {level: warning}\nforward: {transport: tcp, address: '" +
                                  *enclave_address +
                                  "', request_timeout: 60s}\n"
                                  "queue: {path: '" +
                                  (dir.path() / "queue.db").string() +
                                  "', capacity: 1000000, batch_size: 50, window: " + std::to_string(window) +
                                  "}\n"
                                  "ingress: {listen: '127.0.0.1:0', max_requests_per_client: " +
                                  std::to_string(clients) + "}\n",
                              {{"NOTIFY_LOG", "warning,ingress=info"}});
  const auto ingress = parent.wait_for(R"(ingress listening on (\S+))", seconds(20));
  if (!ingress) throw std::runtime_error("parent did not start:\n" + parent.output());

  Round r;
  const auto start = steady_clock::now();
  r.accepted = post_all(*ingress, n, clients, "rp" + std::to_string(latency_ms), r.refused);
  const auto give_up = start + seconds(300);
  std::map<std::string, int> seen;
  for (;;) {
    seen = fake.accepted_recipients();
    if (seen.size() >= r.accepted || steady_clock::now() > give_up) break;
    std::this_thread::sleep_for(milliseconds(5));
  }
  r.seconds = duration<double>(steady_clock::now() - start).count();
  r.delivered = seen.size();
  for (const auto& [user, times] : seen) r.duplicated += times > 1 ? 1 : 0;
  r.braze_requests = fake.requests().size();
  r.enclave_rss_mib = peak_rss_kib(enclave.process().pid()) / 1024;
  r.parent_rss_mib = peak_rss_kib(parent.process().pid()) / 1024;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 10000, pool = 8, window = 10, clients = 4;
  std::vector<int> latencies = {50, 200};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--notifications") {
      n = std::stoi(v);
    } else if (a == "--pool") {
      pool = std::stoi(v);
    } else if (a == "--window") {
      window = std::stoi(v);
    } else if (a == "--clients") {
      clients = std::stoi(v);
    } else if (a == "--latency-ms") {
      latencies.clear();
      std::stringstream in(v);
      for (std::string part; std::getline(in, part, ',');) latencies.push_back(std::stoi(part));
    } else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  bool ok = true;
  std::cout << "real path (ingress -> SQLite queue -> dispatcher -> link -> enclave -> Braze plugin -> fake Braze "
               "over TLS), "
            << n << " notifications in requests of " << kPerRequest << ", pool " << pool << ", window " << window
            << ":\n";
  for (int latency : latencies) {
    Round r;
    try {
      r = run_round(n, latency, pool, window, clients);
    } catch (const std::exception& e) {
      std::cerr << e.what() << "\n";
      return 1;
    }
    const double rate = static_cast<double>(r.delivered) / r.seconds;
    const double by_pool = kPerRequest * pool / (latency / 1000.0);
    const double by_braze = kBrazeRequestsPerHour / 3600.0 * kPerRequest;
    const double ceiling = std::min(by_pool, by_braze);
    std::cout << "  Braze latency " << latency << " ms: " << r.delivered << "/" << r.accepted << " delivered in "
              << r.seconds << " s = " << static_cast<long>(rate) << " notifications/s; ceiling "
              << static_cast<long>(ceiling) << " (" << (by_pool < by_braze ? "pool x 50 / latency" : "Braze 250,000/h")
              << "); ratio " << rate / ceiling << " (aim >= 0.9)\n"
              << "    Braze requests " << r.braze_requests << ", recipients pushed twice " << r.duplicated
              << ", HTTP retries " << r.refused << "; peak RSS enclave " << r.enclave_rss_mib << " MiB, parent "
              << r.parent_rss_mib << " MiB\n";
    ok = ok && r.delivered == r.accepted && r.accepted == static_cast<std::size_t>(n) && r.duplicated == 0;
  }
  return ok ? 0 : 1;
}
