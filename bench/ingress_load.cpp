// ingress-load: notifications/s accepted by the parent's HTTP ingress (keep-alive, concurrent clients) for each queue
// backend, against a baseline measured in the same run: the same ingress service answering 202 without storing
// anything. Then end to end: how fast the accepted notifications reach the log provider through the enclave.
//
//   ingress-load [--seconds S] [--clients N] [--per-request K] [--window W]
#include "host_process.hpp"
#include "parent/dispatch/delivery_metrics.hpp"
#include "parent/ingress/ingress_service.hpp"
#include "redis_server.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

using namespace notify;
using namespace std::chrono;

namespace {

// Accepts everything and stores nothing: the baseline's "queue".
class NullQueue final : public delivery::NotificationQueue {
 public:
  Result<std::vector<delivery::Enqueued>> enqueue(std::span<const Notification> batch) override {
    std::vector<delivery::Enqueued> out;
    for (const auto& n : batch) out.push_back({n.request_id, false, delivery::State::queued});
    return out;
  }
  Result<std::vector<delivery::Leased>> lease(std::size_t) override { return std::vector<delivery::Leased>{}; }
  Status complete(const std::string&, const DeliveryResult&) override { return {}; }
  Result<std::vector<delivery::State>> complete_batch(
      std::span<const std::pair<std::string, DeliveryResult>> r) override {
    return std::vector<delivery::State>(r.size(), delivery::State::delivered);
  }
  Result<std::optional<delivery::Record>> status(const std::string&) override {
    return std::optional<delivery::Record>{};
  }
  Result<std::vector<std::string>> dead_ids(std::size_t) override { return std::vector<std::string>{}; }
  Status retry_dead(const std::string&) override { return {}; }
  Result<std::vector<std::string>> unannounced_ids(std::size_t) override { return std::vector<std::string>{}; }
  Status mark_announced(std::span<const std::string>) override { return {}; }
  Result<std::size_t> depth() override { return std::size_t{0}; }
  Result<std::size_t> purge_finished() override { return std::size_t{0}; }
};

class QuietLog final : public Log {
 public:
  bool enabled(LogLevel l) const noexcept override { return l >= LogLevel::warning; }
  void write(LogLevel, std::string_view m) noexcept override { std::cerr << m << "\n"; }
};

struct Load {
  std::uint64_t accepted = 0;
  double seconds = 0;
};

Load drive(const std::string& address, int clients, int per_request, int seconds, const std::string& tag) {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> seq{0};
  auto worker = [&] {
    auto colon = address.rfind(':');
    Poco::Net::HTTPClientSession s(address.substr(0, colon),
                                   static_cast<Poco::UInt16>(std::stoi(address.substr(colon + 1))));
    s.setKeepAlive(true);
    while (!stop) {
      std::string body = R"({"notifications": [)";
      for (int i = 0; i < per_request; ++i) {
        body += std::string(i ? "," : "") + R"({"request_id": ")" + tag + "-" + std::to_string(seq++) +
                R"(", "external_user_id": "user-1", "title": "Load", "message": "Ingress throughput"})";
      }
      body += "]}";
      Poco::Net::HTTPRequest req("POST", "/v1/notifications", Poco::Net::HTTPMessage::HTTP_1_1);
      req.setKeepAlive(true);
      req.setContentType("application/json");
      req.setContentLength(static_cast<std::streamsize>(body.size()));
      s.sendRequest(req) << body;
      Poco::Net::HTTPResponse resp;
      std::string reply;
      Poco::StreamCopier::copyToString(s.receiveResponse(resp), reply);
      if (resp.getStatus() == Poco::Net::HTTPResponse::HTTP_ACCEPTED)
        accepted += static_cast<std::uint64_t>(per_request);
    }
  };
  const auto start = steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) threads.emplace_back(worker);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  return {accepted.load(), duration<double>(steady_clock::now() - start).count()};
}

std::size_t lines_in(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::size_t n = 0;
  for (std::string l; std::getline(in, l);) n += l.empty() ? 0 : 1;
  return n;
}

long rss_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size()));
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 3, clients = 8, per_request = 1, window = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--seconds")
      seconds = std::stoi(argv[i + 1]);
    else if (a == "--clients")
      clients = std::stoi(argv[i + 1]);
    else if (a == "--per-request")
      per_request = std::stoi(argv[i + 1]);
    else if (a == "--window")
      window = std::stoi(argv[i + 1]);
  }
  // Baseline: the ingress service itself, answering 202 without storing.
  NullQueue null_queue;
  services::DeliveryMetrics metrics;
  services::IngressOptions io;
  io.listen = "127.0.0.1:0";
  // Every load client comes from 127.0.0.1: lift the per-client limit (made against slow clients) above their number.
  io.max_requests_per_client = static_cast<std::size_t>(clients);
  auto quiet = std::make_shared<QuietLog>();
  struct Capture final : Log {
    std::string address;
    bool enabled(LogLevel) const noexcept override { return true; }
    void write(LogLevel, std::string_view m) noexcept override {
      if (auto p = m.find("listening on "); p != std::string_view::npos) address = std::string(m.substr(p + 13));
    }
  };
  auto capture = std::make_shared<Capture>();
  services::IngressService baseline(
      io, null_queue, metrics, [] { return true; }, [] {}, capture);
  if (!baseline.start()) return 1;
  const auto base = drive(capture->address, clients, per_request, seconds, "base");
  baseline.stop();
  const double base_rate = base.accepted / base.seconds;
  std::cout << "ingress, " << clients << " keep-alive clients, " << per_request << " notification(s) per request:\n"
            << "  baseline (same HTTP service, nothing stored)  " << static_cast<long>(base_rate) << " /s\n";

  testing::RedisServer redis;
  for (const std::string backend : {"sqlite", "redis"}) {
    testing::TempDir dir;
    const auto out = dir.path() / "delivered.jsonl";
    testing::HostProcess enclave("log: {level: warning}\nproviders: [{plugin: log, config: {output: '" + out.string() +
                                     "'}}]\nserve: {transport: tcp, listen: '127.0.0.1:0', workers: 4}\n",
                                 {{"NOTIFY_LOG", "warning,link=info"}});
    const auto enclave_address = enclave.wait_listening().value_or("");
    const std::string queue =
        backend == "sqlite"
            ? "{backend: sqlite, path: '" + (dir.path() / "q.db").string() +
                  "', capacity: 10000000, poll_interval: 10ms, window: " + std::to_string(window) + "}"
            : "{backend: redis, redis_address: '" + redis.socket() +
                  "', redis_prefix: bench, capacity: 10000000, poll_interval: 10ms, window: " + std::to_string(window) +
                  "}";
    testing::HostProcess parent(
        "log: {level: warning}\nforward: {transport: tcp, address: '" + enclave_address + "'}\nqueue: " + queue +
            "\ningress: {listen: '127.0.0.1:0', max_requests_per_client: " + std::to_string(clients) + "}\n",
        {{"NOTIFY_LOG", "warning,ingress=info"}});
    const auto ingress = parent.wait_for(R"(ingress listening on (\S+))", std::chrono::seconds(20)).value_or("");
    if (ingress.empty()) {
      std::cerr << parent.output();
      return 1;
    }
    // One client first: each of its requests waits for its own commit, so there is nothing to group. The same store
    // under `clients` concurrent clients then shows what group commit makes of their concurrency (an fsync per
    // request would keep the two rates about equal).
    const auto solo = drive(ingress, 1, per_request, seconds, backend + "-solo");
    const double solo_rate = solo.accepted / solo.seconds;
    const auto load = drive(ingress, clients, per_request, seconds, backend);
    const double rate = load.accepted / load.seconds;
    const auto expected = solo.accepted + load.accepted;
    const auto t0 = steady_clock::now();
    while (lines_in(out) < expected && steady_clock::now() - t0 < std::chrono::seconds(120)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const double total = duration<double>(steady_clock::now() - t0).count() + solo.seconds + load.seconds;
    const auto delivered = lines_in(out);
    std::cout << "  " << backend << ": one client " << static_cast<long>(solo_rate) << " /s; " << clients << " clients "
              << static_cast<long>(rate) << " /s (" << rate / solo_rate << "x one client: group commit)\n";
    std::cout << "  " << backend << ": accepted " << static_cast<long>(rate) << " /s (ratio " << rate / base_rate
              << " of baseline); delivered " << delivered << "/" << expected << " to the log provider in " << total
              << " s = " << static_cast<long>(delivered / total) << " /s end to end; parent RSS "
              << rss_kib(parent.process().pid(), "VmHWM:") / 1024 << " MiB peak\n";
  }
  return 0;
}
