#pragma once
// A TCP relay that records every byte in both directions: what a curious parent instance would see of the link.
// Tests put it between a parent (or notify-ctl) and an enclave host, then search the recording for secrets.
// Its own address stays bound for its whole life while the upstream may come, go and change (set_upstream): a
// client can be given the relay's address before the server behind it exists, without reserving a port number.
// Header-only; link the tcp transport (notify_transport_tcp_impl).

#include "tcp_transport.hpp"

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace notify::testing {

class RecordingRelay {
 public:
  /// Relays to `upstream`; with none (yet), every connection is accepted and closed at once, as a relay does whose
  /// upstream is down.
  explicit RecordingRelay(std::string upstream = {}) : upstream_(std::move(upstream)) {
    auto l = tcp_.listen("127.0.0.1:0", 8);
    listener_ = std::move(l.value());
    thread_ = std::thread([this] { run(); });
  }
  RecordingRelay(const RecordingRelay&) = delete;
  RecordingRelay& operator=(const RecordingRelay&) = delete;
  ~RecordingRelay() {
    stop_ = true;
    listener_->close();
    thread_.join();
  }
  [[nodiscard]] std::string address() const { return listener_->local_address(); }
  [[nodiscard]] std::string recorded() const {
    std::lock_guard lock(mu_);
    return bytes_;
  }
  /// Where new connections go from now on (connections already relayed keep their upstream).
  void set_upstream(std::string upstream) {
    std::lock_guard lock(mu_);
    upstream_ = std::move(upstream);
  }
  /// Connections accepted so far, relayed or not: how a test sees that a client is trying.
  [[nodiscard]] std::size_t connections() const { return connections_.load(); }

 private:
  void pump(Stream& from, Stream& to) {
    std::array<std::byte, 4096> buf{};
    while (!stop_) {
      auto n = from.read_some(buf, std::chrono::milliseconds(200));
      if (!n && n.error().code == Errc::timed_out) continue;
      if (!n) break;
      {
        std::lock_guard lock(mu_);
        bytes_.append(reinterpret_cast<const char*>(buf.data()), *n);
      }
      if (!to.write_all(std::span(buf).first(*n), std::chrono::seconds(5))) break;
    }
    to.shutdown();
    from.shutdown();
  }
  void run() {
    std::vector<std::thread> pumps;
    std::vector<std::unique_ptr<Stream>> streams;
    while (!stop_) {
      auto in = listener_->accept(std::chrono::milliseconds(200));
      if (!in) continue;
      ++connections_;
      std::string upstream;
      {
        std::lock_guard lock(mu_);
        upstream = upstream_;
      }
      if (upstream.empty()) continue;  // no upstream yet: the client sees a close and retries
      auto out = tcp_.connect(upstream, std::chrono::seconds(2));
      if (!out) continue;  // the upstream is down (e.g. a restarting enclave): the client sees a close and retries
      Stream* a = in.value().get();
      Stream* b = out.value().get();
      streams.push_back(std::move(in.value()));
      streams.push_back(std::move(out.value()));
      pumps.emplace_back([this, a, b] { pump(*a, *b); });
      pumps.emplace_back([this, a, b] { pump(*b, *a); });
    }
    for (auto& s : streams) s->shutdown();
    for (auto& t : pumps) t.join();
  }
  tcp::TcpTransport tcp_;
  std::string upstream_;
  std::unique_ptr<Listener> listener_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mu_;  // guards upstream_ and bytes_
  std::string bytes_;
  std::thread thread_;
};

}  // namespace notify::testing
