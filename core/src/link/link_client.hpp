#pragma once
// The parent side of the link: one connection to the enclave, kept up by a background thread that reconnects with
// capped exponential backoff and jitter. Any number of requests may be in flight (correlation ids). A request whose
// connection drops is sent again after reconnect (deliveries are idempotent by request_id: the enclave remembers
// them) until max_attempts or its deadline, and then fails back to its caller with the reason — never dropped, never
// hung. The exception is a deliver that already had some results early (deliver_part): it fails at once, so that
// its caller re-sends only the rest.

#include "link/frame.hpp"
#include "link/messages.hpp"

#include <notify/log.hpp>
#include <notify/toolkit/backoff.hpp>
#include <notify/transport.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

namespace notify::link {

struct ClientOptions {
  std::string address;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{10000};
  int max_attempts = 5;
  std::uint32_t max_frame_bytes = 4u << 20;
  std::string node_name;
};

class LinkClient {
 public:
  LinkClient(std::shared_ptr<Transport> transport, ClientOptions options, Log& log);
  LinkClient(const LinkClient&) = delete;
  LinkClient& operator=(const LinkClient&) = delete;
  ~LinkClient();

  void start();
  /// Fails every pending request with Errc::closed and joins the background thread.
  void stop();
  [[nodiscard]] bool connected() const noexcept { return connected_.load(); }
  bool wait_connected(std::chrono::milliseconds timeout);

  Result<HealthInfo> health();
  /// Results the enclave knows before its reply (deliver_part, protocol 2.4), indexes into the batch, each checked.
  /// Run on the caller's thread, between waits, in arrival order.
  using PartHandler = std::function<void(std::span<const PartResult>)>;
  /// One result per notification. With `on_part`, results the enclave reports early are handed to it as they arrive;
  /// the returned vector still holds every result, those included. A deliver that got parts and then lost its
  /// connection is not re-sent whole: it fails (Errc::closed), and the caller sends the rest again.
  Result<std::vector<DeliveryResult>> deliver(std::span<const Notification> batch, const PartHandler& on_part = {});
  Status provision(const ProvisionRequest& request);
  Result<AttestReply> attest(const AttestRequest& request);
  /// Hands AWS credentials and CiphertextBlobs to the enclave; the payload is wiped after sending.
  Result<KmsProvisionReply> kms_provision(const KmsProvisionRequest& request);
  /// The enclave's buffered log lines (protocol 2.1; Errc::unsupported against an older peer, without asking it).
  Result<LogsReply> logs(std::size_t max_lines);
  /// The enclave's metrics (protocol 2.2; Errc::unsupported against an older peer, without asking it).
  Result<std::vector<prometheus::MetricFamily>> metrics();
  /// The connected peer's hello (node name, protocol version); empty node while never connected.
  [[nodiscard]] Hello peer() const;

  /// Counters for metrics and tests.
  struct Stats {
    std::uint64_t connects = 0;
    std::uint64_t disconnects = 0;
    std::uint64_t resent = 0;
    std::uint64_t failed_after_attempts = 0;
  };
  [[nodiscard]] Stats stats() const;

 private:
  Result<std::vector<DeliveryResult>> deliver_now(std::span<const Notification> batch, const PartHandler& on_part);
  struct Pending;
  struct Wire;  // one connection: its stream and its coalescing writer

  /// Sends a request and waits for its reply frame (or an error). `sensitive` payloads are wiped after use.
  /// `on_part`: called, on this thread, with each deliver_part frame that comes before the reply.
  Result<Frame> call(MessageType type, std::string payload, bool sensitive = false,
                     const std::function<void(const Frame&)>& on_part = {});
  void run();
  bool connect_once();
  void read_until_disconnected(const std::shared_ptr<Wire>& wire, class FrameReader& reader);
  void send_pending_locked(const std::shared_ptr<Pending>& p, std::shared_ptr<Wire> wire,
                           std::unique_lock<std::mutex>& lock);
  void finish_locked(Pending& p, Result<Frame> outcome);
  void on_disconnect(const std::string& reason);
  std::chrono::milliseconds next_backoff();
  bool sleep_interruptible(std::chrono::milliseconds d);

  std::shared_ptr<Transport> transport_;
  ClientOptions options_;
  Log& log_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // connection state and stop; each request waits on its own slot
  std::map<std::uint64_t, std::shared_ptr<Pending>> pending_;
  std::shared_ptr<Wire> wire_;
  std::uint64_t next_id_ = 1;
  std::atomic<bool> connected_{false};
  bool stopping_ = false;
  bool started_ = false;
  std::string last_error_ = "not connected yet";
  toolkit::Backoff backoff_;  // guarded by mu_
  bool incompatible_peer_ = false;
  Hello peer_;  // the last peer's hello; guarded by mu_
  Stats stats_;

  std::thread thread_;
};

}  // namespace notify::link
