#pragma once
// The enclave side of the link: accepts a bounded number of connections, checks each peer's handshake, and answers
// requests through a RequestHandler on a small worker pool, so one connection may have many requests in flight and
// replies may leave out of order (matched by correlation id). A malformed, truncated, oversized or wrong-version frame
// closes that connection only, with a logged reason; payloads are never logged.

#include "link/frame.hpp"
#include "link/messages.hpp"

#include <notify/log.hpp>
#include <notify/transport.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace notify::link {

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual HealthInfo health() = 0;
  /// Where deliver() hands results it knows before it returns: each call goes to the parent at once as one
  /// deliver_part frame. Empty when the parent predates parts (protocol < 2.4). Callable from any thread.
  using PartSink = std::function<void(std::span<const PartResult>)>;
  /// One result per notification, in order (those already handed to `parts` included). `deadline` (steady clock) is
  /// when the sender stops waiting: no provider call may start after it (time_point::max(): the sender gave no
  /// budget).
  virtual std::vector<DeliveryResult> deliver(std::vector<Notification> batch,
                                              std::chrono::steady_clock::time_point deadline,
                                              const PartSink& parts) = 0;
  virtual Status provision(const ProvisionRequest& request) = 0;
  virtual Result<AttestReply> attest(const AttestRequest& request) = 0;
  /// The enclave fetches its KMS-sourced secrets itself with the credentials and ciphertexts the parent hands over.
  /// Handlers that hold no KMS-sourced secrets keep this default.
  virtual Result<KmsProvisionReply> kms_provision(const KmsProvisionRequest& /*request*/) {
    return Error{Errc::unsupported, "this node fetches no secrets from KMS"};
  }
  /// Up to `max` buffered log lines, oldest first, and how many were lost since the last call. Cheap: answered by
  /// the connection's reader. Handlers without a log buffer keep this default.
  virtual Result<LogsReply> logs(std::size_t /*max*/) {
    return Error{Errc::unsupported, "this node keeps no log buffer"};
  }
  /// Every metric series of this node now. Cheap (atomic reads): answered by the connection's reader too.
  virtual Result<std::vector<prometheus::MetricFamily>> metrics() {
    return Error{Errc::unsupported, "this node exports no metrics"};
  }
};

struct ServerOptions {
  std::size_t max_connections = 64;
  std::chrono::milliseconds io_timeout{30000};
  std::uint32_t max_frame_bytes = 4u << 20;
  std::size_t worker_threads = 16;
  std::string node_name;
};

class LinkServer {
 public:
  LinkServer(std::unique_ptr<Listener> listener, RequestHandler& handler, ServerOptions options, Log& log);
  LinkServer(const LinkServer&) = delete;
  LinkServer& operator=(const LinkServer&) = delete;
  ~LinkServer();

  void start();
  /// Stops accepting, lets queued and running requests finish and their replies be written, then closes everything.
  void stop();
  [[nodiscard]] std::string local_address() const;
  [[nodiscard]] std::size_t connection_count() const;

 private:
  struct Connection;
  struct Task {
    std::shared_ptr<Connection> connection;
    Frame frame;
    std::chrono::steady_clock::time_point
        received;  // when the whole frame had arrived: a deliver's budget counts from here
  };

  void accept_loop();
  void serve_connection(const std::shared_ptr<Connection>& c);
  bool handshake(Connection& c, class FrameReader& reader);
  void worker_loop();
  void handle(Task& task);
  void reply(Connection& c, MessageType type, std::uint64_t correlation_id, const std::string& payload);
  void reap_finished_connections();

  std::unique_ptr<Listener> listener_;
  const std::string local_address_;
  RequestHandler& handler_;
  ServerOptions options_;
  Log& log_;

  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::thread acceptor_;
  std::vector<std::thread> workers_;

  mutable std::mutex connections_mu_;
  std::list<std::shared_ptr<Connection>> connections_;

  std::mutex tasks_mu_;
  std::condition_variable tasks_cv_;    // workers wait here for tasks
  std::condition_variable drained_cv_;  // stop() waits here for the queued and running tasks to finish
  std::deque<Task> tasks_;
  std::size_t queued_bytes_ = 0;  // payload bytes in tasks_
  std::size_t running_tasks_ = 0;
  bool workers_exit_ = false;
};

}  // namespace notify::link
