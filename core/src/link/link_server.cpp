#include "link/link_server.hpp"

#include "link/frame_reader.hpp"
#include "link/frame_writer.hpp"

#include <cstring>

namespace notify::link {

namespace {
// How often blocked reads wake up to notice stop(); not a protocol timeout.
constexpr std::chrono::milliseconds kPollSlice{200};
// Requests queued beyond this are answered with resource_exhausted rather than buffered without bound.
constexpr std::size_t kMaxQueuedTasks = 4096;
// The payload bytes waiting for a worker, across all connections: a peer that sends faster than the workers finish is
// told "busy" beyond this instead of growing the enclave's memory (each connection's reader holds one more frame).
constexpr std::size_t kMaxQueuedBytes = 16u << 20;
// A hello is a node name and two version numbers: before the handshake no peer gets the full frame size.
constexpr std::uint32_t kMaxHelloBytes = 4096;
}  // namespace

struct LinkServer::Connection {
  std::unique_ptr<Stream> stream;
  std::unique_ptr<FrameWriter> writer;  // replies from the reader and the workers, coalesced
  std::string peer;
  std::string peer_node;
  std::uint32_t peer_minor = 0;  // the peer's hello: deliver_part only to 2.4 or later
  std::thread reader;
  std::atomic<bool> finished{false};
};

LinkServer::LinkServer(std::unique_ptr<Listener> listener, RequestHandler& handler, ServerOptions options, Log& log)
    : listener_(std::move(listener)),
      local_address_(listener_->local_address()),
      handler_(handler),
      options_(std::move(options)),
      log_(log) {}

LinkServer::~LinkServer() { stop(); }

std::string LinkServer::local_address() const { return local_address_; }

std::size_t LinkServer::connection_count() const {
  std::lock_guard lock(connections_mu_);
  std::size_t n = 0;
  for (const auto& c : connections_) n += c->finished ? 0 : 1;
  return n;
}

void LinkServer::start() {
  if (started_) return;
  started_ = true;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.worker_threads); ++i) {
    workers_.emplace_back([this] { worker_loop(); });
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

void LinkServer::stop() {
  if (!started_ || stopping_.exchange(true)) return;
  listener_->close();
  if (acceptor_.joinable()) acceptor_.join();
  // Readers notice stopping_ within one poll slice and stop taking new requests.
  {
    std::lock_guard lock(connections_mu_);
    for (auto& c : connections_)
      if (c->reader.joinable()) c->reader.join();
  }
  // Let the workers drain what was already accepted, so every request read gets its reply written.
  {
    std::unique_lock lock(tasks_mu_);
    drained_cv_.wait(lock, [this] { return tasks_.empty() && running_tasks_ == 0; });
    workers_exit_ = true;
  }
  tasks_cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  std::lock_guard lock(connections_mu_);
  for (auto& c : connections_) c->stream->shutdown();
  connections_.clear();
  log_.info("link server on " + local_address_ + " stopped");
}

void LinkServer::reap_finished_connections() {
  std::lock_guard lock(connections_mu_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->finished) {
      if ((*it)->reader.joinable()) (*it)->reader.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void LinkServer::accept_loop() {
  while (!stopping_) {
    auto accepted = listener_->accept(kPollSlice);
    reap_finished_connections();
    if (!accepted) {
      if (accepted.error().code == Errc::timed_out) continue;
      if (accepted.error().code == Errc::closed || stopping_) break;
      log_.warning("accept on " + local_address_ + " failed: " + accepted.error().message);
      std::this_thread::sleep_for(kPollSlice);
      continue;
    }
    auto c = std::make_shared<Connection>();
    c->stream = std::move(accepted.value());
    c->writer = std::make_unique<FrameWriter>(*c->stream, options_.io_timeout);
    c->peer = c->stream->peer_address();
    std::lock_guard lock(connections_mu_);
    if (connections_.size() >= options_.max_connections) {
      log_.warning("refusing link connection from " + c->peer + ": max_connections (" +
                   std::to_string(options_.max_connections) + ") reached");
      continue;  // the stream closes as it goes out of scope
    }
    connections_.push_back(c);
    c->reader = std::thread([this, c] { serve_connection(c); });
  }
}

void LinkServer::reply(Connection& c, MessageType type, std::uint64_t correlation_id, const std::string& payload) {
  if (auto st = c.writer->send(type, correlation_id, payload); !st) {
    log_.warning("link reply to " + c.peer + " failed: " + st.message());  // the writer shut the stream down
  }
}

bool LinkServer::handshake(Connection& c, FrameReader& reader) {
  Result<Frame> f = Error{Errc::timed_out, ""};
  const auto deadline = std::chrono::steady_clock::now() + options_.io_timeout;
  reader.set_max_payload(std::min(options_.max_frame_bytes, kMaxHelloBytes));
  do {
    f = reader.next(kPollSlice, options_.io_timeout);
  } while (!f && f.error().code == Errc::timed_out && !stopping_ && std::chrono::steady_clock::now() < deadline);
  reader.set_max_payload(options_.max_frame_bytes);
  if (!f) {
    log_.warning("closing link connection from " + c.peer + ": no valid handshake (" + f.error().message + ")");
    return false;
  }
  if (f->header.major != kProtocolMajor) {
    const std::string why = "incompatible link protocol: peer speaks " + std::to_string(f->header.major) + "." +
                            std::to_string(f->header.minor) + ", " + options_.node_name + " speaks " +
                            std::to_string(kProtocolMajor) + "." + std::to_string(kProtocolMinor);
    log_.warning("closing link connection from " + c.peer + ": " + why);
    reply(c, MessageType::error_reply, f->header.correlation_id, encode_error({Errc::protocol_error, why}));
    return false;
  }
  if (f->header.type != MessageType::hello) {
    log_.warning("closing link connection from " + c.peer + ": first frame is " + message_type_name(f->header.type) +
                 ", expected hello");
    return false;
  }
  auto hello = decode_hello(f->payload);
  if (!hello) {
    log_.warning("closing link connection from " + c.peer + ": bad hello: " + hello.error().message);
    return false;
  }
  c.peer_node = hello->node;
  c.peer_minor = hello->minor;
  reply(c, MessageType::hello_ok, f->header.correlation_id,
        encode_hello({options_.node_name, kProtocolMajor, kProtocolMinor}));
  log_.info("link connection from " + c.peer + " (node '" + c.peer_node + "')");
  return true;
}

void LinkServer::serve_connection(const std::shared_ptr<Connection>& c) {
  FrameReader reader(*c->stream, options_.max_frame_bytes);
  if (handshake(*c, reader)) {
    while (!stopping_) {
      auto f = reader.next(kPollSlice, options_.io_timeout);
      if (!f) {
        if (f.error().code == Errc::timed_out) continue;  // idle
        if (f.error().code == Errc::closed) {
          log_.info("link connection from " + c->peer + " closed by peer");
        } else {
          log_.warning("closing link connection from " + c->peer + ": " + f.error().message);
        }
        break;
      }
      if (f->header.major != kProtocolMajor) {
        log_.warning("closing link connection from " + c->peer + ": frame of protocol major " +
                     std::to_string(f->header.major));
        break;
      }
      const bool telemetry =
          f->header.type == MessageType::logs_request || f->header.type == MessageType::metrics_request;
      if (!telemetry)  // a line per fetch would feed the log buffer it drains
        log_.trace(std::string("link request ") + message_type_name(f->header.type) + " #" +
                   std::to_string(f->header.correlation_id) + " from " + c->peer + " (" +
                   std::to_string(f->header.payload_size) + " bytes)");
      if (f->header.type == MessageType::health_request || telemetry) {
        // Cheap and what operators and the parent's readiness ask: answered here, never behind provider work.
        Task inline_task{c, std::move(f.value()), std::chrono::steady_clock::now()};
        handle(inline_task);
        continue;
      }
      std::unique_lock lock(tasks_mu_);
      const std::size_t size = f->payload.size();
      if (tasks_.size() >= kMaxQueuedTasks || queued_bytes_ + size > kMaxQueuedBytes) {
        lock.unlock();
        reply(*c, MessageType::error_reply, f->header.correlation_id,
              encode_error({Errc::resource_exhausted, "server busy: request queue full"}));
        continue;
      }
      queued_bytes_ += size;
      tasks_.push_back(Task{c, std::move(f.value()), std::chrono::steady_clock::now()});
      lock.unlock();
      tasks_cv_.notify_one();
    }
  }
  // On a protocol error the peer must see the connection close; on stop(), in-flight replies still get written and
  // the stream is shut down after the workers drain.
  if (!stopping_) c->stream->shutdown();
  c->finished = true;
}

void LinkServer::worker_loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(tasks_mu_);
      tasks_cv_.wait(lock, [this] { return workers_exit_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
      queued_bytes_ -= task.frame.payload.size();
      ++running_tasks_;
    }
    handle(task);
    bool drained = false;
    {
      std::lock_guard lock(tasks_mu_);
      --running_tasks_;
      drained = stopping_ && tasks_.empty() && running_tasks_ == 0;
    }
    if (drained) drained_cv_.notify_all();  // stop() waits for the drain; idle workers need no wake-up per task
  }
}

void LinkServer::handle(Task& task) {
  auto& c = *task.connection;
  const auto& h = task.frame.header;
  auto fail = [&](const Error& e) {
    // Said in the enclave's log too (never the payload): a parent sending what the enclave refuses is worth seeing.
    log_.warning(std::string("link request ") + message_type_name(h.type) + " #" + std::to_string(h.correlation_id) +
                 " from " + c.peer + " refused: " + e.message.substr(0, 300));
    reply(c, MessageType::error_reply, h.correlation_id, encode_error(e));
  };
  try {
    switch (h.type) {
      case MessageType::health_request: {
        auto info = handler_.health();
        info.protocol_major = kProtocolMajor;
        info.protocol_minor = kProtocolMinor;
        reply(c, MessageType::health_reply, h.correlation_id, encode_health(info));
        return;
      }
      case MessageType::deliver_request: {
        auto request = decode_deliver_request(task.frame.payload);
        if (!request) return fail(request.error());
        const auto count = request->notifications.size();
        const auto deadline = request->budget.count() > 0 ? task.received + request->budget
                                                          : std::chrono::steady_clock::time_point::max();
        RequestHandler::PartSink parts;
        if (c.peer_minor >= 4) {
          parts = [this, &c, id = h.correlation_id](std::span<const PartResult> part) {
            if (!part.empty()) reply(c, MessageType::deliver_part, id, encode_deliver_part(part));
          };
        }
        auto results = handler_.deliver(std::move(request->notifications), deadline, parts);
        if (results.size() != count) {
          return fail({Errc::internal, "handler returned " + std::to_string(results.size()) + " results for " +
                                           std::to_string(count) + " notifications"});
        }
        reply(c, MessageType::deliver_reply, h.correlation_id, encode_deliver_reply(results));
        return;
      }
      case MessageType::provision_request: {
        auto req = decode_provision_request(task.frame.payload);
        if (!req) return fail(req.error());
        // The frame may carry a plaintext secret (dev path): wipe both copies once handled.
        explicit_bzero(task.frame.payload.data(), task.frame.payload.size());
        auto st = handler_.provision(*req);
        explicit_bzero(req->payload.data(), req->payload.size());
        if (!st) return fail(st.error());
        reply(c, MessageType::provision_reply, h.correlation_id, "{}");
        return;
      }
      case MessageType::kms_provision_request: {
        auto req = decode_kms_provision_request(task.frame.payload);
        // The frame carries AWS credentials: wipe the raw copy whatever happens next.
        explicit_bzero(task.frame.payload.data(), task.frame.payload.size());
        if (!req) return fail(req.error());
        auto got = handler_.kms_provision(*req);
        if (!got) return fail(got.error());
        reply(c, MessageType::kms_provision_reply, h.correlation_id, encode_kms_provision_reply(*got));
        return;
      }
      case MessageType::logs_request: {
        auto max = decode_logs_request(task.frame.payload);
        if (!max) return fail(max.error());
        auto got = handler_.logs(*max);
        if (!got) return fail(got.error());
        reply(c, MessageType::logs_reply, h.correlation_id, encode_logs_reply(*got));
        return;
      }
      case MessageType::metrics_request: {
        auto got = handler_.metrics();
        if (!got) return fail(got.error());
        reply(c, MessageType::metrics_reply, h.correlation_id, encode_metrics_reply(*got));
        return;
      }
      case MessageType::attest_request: {
        auto req = decode_attest_request(task.frame.payload);
        if (!req) return fail(req.error());
        auto doc = handler_.attest(*req);
        if (!doc) return fail(doc.error());
        reply(c, MessageType::attest_reply, h.correlation_id, encode_attest_reply(*doc));
        return;
      }
      default:
        return fail({Errc::protocol_error, std::string("unexpected request type ") + message_type_name(h.type)});
    }
  } catch (const std::exception& e) {
    fail({Errc::internal, std::string("request failed: ") + e.what()});
  }
}

}  // namespace notify::link
