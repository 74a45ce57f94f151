#include "link/link_client.hpp"

#include "link/frame_io.hpp"
#include "link/frame_reader.hpp"
#include "link/frame_writer.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace notify::link {

namespace {
constexpr std::chrono::milliseconds kPollSlice{200};
}

// A request's slot: its reply (or failure) is put here and only its own caller is woken.
struct LinkClient::Pending {
  std::uint64_t id = 0;
  MessageType type;
  std::string payload;
  bool sensitive = false;
  int attempts = 0;
  std::optional<Result<Frame>> outcome;
  std::vector<Frame> parts;  // deliver_part frames not yet handed to the caller
  bool got_parts = false;    // some results came early: never re-sent whole (see read_until_disconnected)
  std::condition_variable done;
};

struct LinkClient::Wire {
  std::shared_ptr<Stream> stream;
  FrameWriter writer;
  Wire(std::shared_ptr<Stream> s, std::chrono::milliseconds timeout) : stream(std::move(s)), writer(*stream, timeout) {}
};

void LinkClient::finish_locked(Pending& p, Result<Frame> outcome) {
  if (p.outcome) return;
  p.outcome = std::move(outcome);
  p.done.notify_one();
}

LinkClient::LinkClient(std::shared_ptr<Transport> transport, ClientOptions options, Log& log)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      log_(log),
      backoff_(options_.backoff_initial, options_.backoff_max) {}

LinkClient::~LinkClient() { stop(); }

void LinkClient::start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void LinkClient::stop() {
  std::shared_ptr<Wire> wire;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, p] : pending_) finish_locked(*p, Error{Errc::closed, "link client stopped"});
    wire = wire_;
  }
  cv_.notify_all();
  if (wire) wire->stream->shutdown();
  if (thread_.joinable()) thread_.join();
  connected_ = false;
}

bool LinkClient::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return connected_.load() || stopping_; }) && connected_.load();
}

LinkClient::Stats LinkClient::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::chrono::milliseconds LinkClient::next_backoff() {
  std::lock_guard lock(mu_);
  // A peer that speaks another protocol version will not change soon: wait the longest; otherwise grow from initial.
  return incompatible_peer_ ? backoff_.longest() : backoff_.next();
}

bool LinkClient::sleep_interruptible(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void LinkClient::send_pending_locked(const std::shared_ptr<Pending>& p, std::shared_ptr<Wire> wire,
                                     std::unique_lock<std::mutex>& lock) {
  // `wire` is a copy on purpose: mu_ is released below, and the reader may reset wire_ meanwhile. Writing happens
  // without mu_ so replies keep flowing; the writer coalesces this frame with other callers' frames.
  ++p->attempts;
  lock.unlock();
  const auto st = wire->writer.send(p->type, p->id, p->payload, p->sensitive);
  if (!st) log_.debug("link write to " + options_.address + " failed: " + st.message());
  // On failure the writer shut the stream down: the reader sees it and reconnects; the request is re-sent then.
  lock.lock();
}

Result<Frame> LinkClient::call(MessageType type, std::string payload, bool sensitive,
                               const std::function<void(const Frame&)>& on_part) {
  auto p = std::make_shared<Pending>();
  p->type = type;
  p->payload = std::move(payload);
  p->sensitive = sensitive;
  std::unique_lock lock(mu_);
  if (stopping_ || !started_) {
    if (sensitive) explicit_bzero(p->payload.data(), p->payload.size());
    return Error{Errc::closed, "link client to " + options_.address + " is not running"};
  }
  const std::uint64_t id = next_id_++;
  p->id = id;
  pending_[id] = p;
  if (wire_ && connected_) send_pending_locked(p, wire_, lock);
  const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  for (;;) {
    p->done.wait_until(lock, deadline, [&] { return p->outcome.has_value() || !p->parts.empty(); });
    if (p->parts.empty()) break;
    // Parts come before the reply on the wire, and are handed on before it here: the caller records them while the
    // rest of the batch is still at the provider. Without mu_, so that replies keep flowing meanwhile.
    auto parts = std::move(p->parts);
    p->parts.clear();
    lock.unlock();
    if (on_part) {
      for (const auto& f : parts) on_part(f);
    }
    lock.lock();
  }
  pending_.erase(id);
  if (sensitive) explicit_bzero(p->payload.data(), p->payload.size());
  if (!p->outcome) {
    return Error{Errc::timed_out, std::string(message_type_name(type)) + " to " + options_.address +
                                      ": no reply within " + std::to_string(options_.request_timeout.count()) +
                                      " ms after " + std::to_string(p->attempts) + " attempt(s)" +
                                      (connected_ ? std::string() : "; link down: " + last_error_)};
  }
  return std::move(*p->outcome);
}

void LinkClient::run() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (!connect_once()) {
      if (!sleep_interruptible(next_backoff())) return;
      continue;
    }
    std::shared_ptr<Wire> wire;
    {
      std::lock_guard lock(mu_);
      wire = wire_;
      backoff_.reset();
    }
    FrameReader reader(*wire->stream, options_.max_frame_bytes);
    read_until_disconnected(wire, reader);
    if (!sleep_interruptible(next_backoff())) return;
  }
}

bool LinkClient::connect_once() {
  auto connected = transport_->connect(options_.address, options_.connect_timeout);
  if (!connected) {
    std::lock_guard lock(mu_);
    if (last_error_ != connected.error().message) {
      log_.warning("cannot connect to enclave at " + options_.address + ": " + connected.error().message);
    }
    last_error_ = connected.error().message;
    return false;
  }
  std::shared_ptr<Stream> stream(std::move(connected.value()));
  auto hello = encode_frame(MessageType::hello, 0, encode_hello({options_.node_name, kProtocolMajor, kProtocolMinor}));
  auto fail = [&](const std::string& why, bool incompatible) {
    std::lock_guard lock(mu_);
    incompatible_peer_ = incompatible;
    if (last_error_ != why) log_.error("handshake with " + options_.address + " failed: " + why);
    last_error_ = why;
    return false;
  };
  if (auto st = stream->write_all(hello, options_.connect_timeout); !st) return fail(st.message(), false);
  auto reply = read_frame(*stream, options_.max_frame_bytes, options_.connect_timeout, options_.connect_timeout);
  if (!reply) return fail(reply.error().message, false);
  if (reply->header.type == MessageType::error_reply) {
    auto e = decode_error(reply->payload);
    return fail(e.message, e.code == Errc::protocol_error);
  }
  if (reply->header.type != MessageType::hello_ok || reply->header.major != kProtocolMajor) {
    return fail(std::string("unexpected handshake reply ") + message_type_name(reply->header.type) + " of protocol " +
                    std::to_string(reply->header.major),
                true);
  }
  auto peer = decode_hello(reply->payload);
  if (!peer) return fail(peer.error().message, false);

  std::vector<std::shared_ptr<Pending>> resend;
  auto wire = std::make_shared<Wire>(stream, options_.request_timeout);
  std::unique_lock lock(mu_);
  if (stopping_) return false;
  incompatible_peer_ = false;
  peer_ = *peer;
  wire_ = wire;
  connected_ = true;
  ++stats_.connects;
  last_error_.clear();
  for (auto& [id, p] : pending_) {
    if (p->outcome) continue;
    if (p->attempts >= options_.max_attempts) {
      finish_locked(*p,
                    Error{Errc::closed, std::string(message_type_name(p->type)) + " to " + options_.address +
                                            ": link lost; gave up after " + std::to_string(p->attempts) + " attempts"});
      ++stats_.failed_after_attempts;
    } else {
      resend.push_back(p);
    }
  }
  log_.info("link connected to " + options_.address + " (node '" + peer->node + "', protocol " +
            std::to_string(peer->major) + "." + std::to_string(peer->minor) + ")" +
            (resend.empty() ? "" : "; re-sending " + std::to_string(resend.size()) + " pending request(s)"));
  cv_.notify_all();
  for (auto& p : resend) {
    if (p->outcome) continue;
    if (p->attempts > 0) ++stats_.resent;
    send_pending_locked(p, wire, lock);
  }
  return true;
}

void LinkClient::read_until_disconnected(const std::shared_ptr<Wire>& wire, FrameReader& reader) {
  std::string reason;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        reason = "client stopping";
        break;
      }
    }
    auto f = reader.next(kPollSlice, options_.request_timeout);
    if (!f) {
      if (f.error().code == Errc::timed_out) continue;
      reason = f.error().message;
      if (const auto why = wire->writer.failure(); !why.empty()) reason = "write failed: " + why;
      break;
    }
    if (f->header.major != kProtocolMajor) {
      reason = "reply of protocol major " + std::to_string(f->header.major);
      break;
    }
    std::lock_guard lock(mu_);
    auto it = pending_.find(f->header.correlation_id);
    if (it == pending_.end()) {
      // A reply to a request whose caller already timed out, or to an earlier send of a re-sent request.
      log_.debug("link reply #" + std::to_string(f->header.correlation_id) + " has no waiting caller");
      continue;
    }
    if (f->header.type == MessageType::deliver_part) {
      auto& p = *it->second;
      if (p.type != MessageType::deliver_request || p.outcome) continue;  // only a deliver still waiting takes parts
      p.parts.push_back(std::move(f.value()));
      p.got_parts = true;
      p.done.notify_one();
    } else if (f->header.type == MessageType::error_reply) {
      finish_locked(*it->second, decode_error(f->payload));
    } else {
      finish_locked(*it->second, std::move(f.value()));
    }
  }
  wire->stream->shutdown();
  std::lock_guard lock(mu_);
  wire_.reset();
  connected_ = false;
  if (stopping_) return;
  ++stats_.disconnects;
  last_error_ = reason;
  std::size_t waiting = 0;
  for (auto& [id, p] : pending_) {
    if (p->outcome) continue;
    if (p->got_parts) {
      // Re-sending the whole batch would push again what the caller has already recorded from the parts: it fails
      // now instead, and the caller sends the rest again (from its queue, without those).
      finish_locked(*p, Error{Errc::closed, "link to " + options_.address + " lost (" + reason +
                                                ") after part of the batch had its results"});
      continue;
    }
    ++waiting;
  }
  log_.warning("link to " + options_.address + " lost: " + reason +
               (waiting ? "; " + std::to_string(waiting) + " request(s) will be re-sent after reconnect" : ""));
}

Result<HealthInfo> LinkClient::health() {
  auto f = call(MessageType::health_request, "{}");
  if (!f) return f.error();
  if (f->header.type != MessageType::health_reply) return Error{Errc::protocol_error, "health: unexpected reply type"};
  return decode_health(f->payload);
}

namespace {
bool uses_2_2_fields(const Notification& n) {
  return !n.device_tokens.empty() || !n.topic.empty() || n.ttl.count() != 0 || n.priority != Priority::unset ||
         !n.collapse_key.empty() || !n.condition.empty();
}
}  // namespace

Result<std::vector<DeliveryResult>> LinkClient::deliver(std::span<const Notification> batch,
                                                        const PartHandler& on_part) {
  if (batch.empty()) return std::vector<DeliveryResult>{};
  // A 2.0/2.1 enclave would skip the fields it does not know and push to the wrong recipients (or none): such
  // notifications wait (retryable, naming both versions) until the enclave is upgraded; the others go.
  if (const auto p = peer();
      p.major == kProtocolMajor && p.minor < 2 && std::any_of(batch.begin(), batch.end(), uses_2_2_fields)) {
    std::vector<Notification> sendable;
    for (const auto& n : batch) {
      if (!uses_2_2_fields(n)) sendable.push_back(n);
    }
    std::vector<DeliveryResult> sent;
    if (!sendable.empty()) {
      // A 2.0/2.1 enclave sends no parts (2.4): nothing to map back to the batch here.
      auto r = deliver_now(sendable, {});
      if (!r) return r.error();
      sent = std::move(r.value());
    }
    std::vector<DeliveryResult> out;
    out.reserve(batch.size());
    std::size_t next = 0;
    for (const auto& n : batch) {
      if (uses_2_2_fields(n)) {
        out.push_back(DeliveryResult::retryable(
            "enclave '" + p.node + "' speaks protocol " + std::to_string(p.major) + "." + std::to_string(p.minor) +
            ", without device tokens, topic, condition, ttl, priority or collapse_key (2.2)"));
      } else {
        out.push_back(std::move(sent[next++]));
      }
    }
    return out;
  }
  return deliver_now(batch, on_part);
}

Result<std::vector<DeliveryResult>> LinkClient::deliver_now(std::span<const Notification> batch,
                                                            const PartHandler& on_part) {
  std::function<void(const Frame&)> parts;
  if (on_part) {
    parts = [&](const Frame& f) {
      auto part = decode_deliver_part(f.payload);
      if (!part) {
        log_.warning("link deliver_part #" + std::to_string(f.header.correlation_id) + " from " + options_.address +
                     " ignored: " + part.error().message);
        return;
      }
      // An index outside the batch is the peer's error: that entry is dropped, the reply still carries every result.
      std::erase_if(*part, [&](const PartResult& r) { return r.index >= batch.size(); });
      if (!part->empty()) on_part(*part);
    };
  }
  // The budget is this client's request timeout: past it, nothing the enclave starts would be waited for.
  auto f = call(MessageType::deliver_request, encode_deliver_request(batch, options_.request_timeout),
                /*sensitive=*/false, parts);
  if (!f) return f.error();
  if (f->header.type != MessageType::deliver_reply)
    return Error{Errc::protocol_error, "deliver: unexpected reply type"};
  auto results = decode_deliver_reply(f->payload);
  if (!results) return results.error();
  if (results->size() != batch.size()) {
    return Error{Errc::protocol_error, "deliver: " + std::to_string(results->size()) + " results for " +
                                           std::to_string(batch.size()) + " notifications"};
  }
  return results;
}

Status LinkClient::provision(const ProvisionRequest& request) {
  auto f = call(MessageType::provision_request, encode_provision_request(request), /*sensitive=*/true);
  if (!f) return f.error();
  if (f->header.type != MessageType::provision_reply)
    return Error{Errc::protocol_error, "provision: unexpected reply type"};
  return {};
}

Result<KmsProvisionReply> LinkClient::kms_provision(const KmsProvisionRequest& request) {
  auto f = call(MessageType::kms_provision_request, encode_kms_provision_request(request), /*sensitive=*/true);
  if (!f) return f.error();
  if (f->header.type != MessageType::kms_provision_reply) {
    return Error{Errc::protocol_error, "kms_provision: unexpected reply type"};
  }
  auto reply = decode_kms_provision_reply(f->payload);
  if (!reply) return reply.error();
  if (reply->outcomes.size() != request.ciphertexts.size()) {
    return Error{Errc::protocol_error, "kms_provision: " + std::to_string(reply->outcomes.size()) + " outcomes for " +
                                           std::to_string(request.ciphertexts.size()) + " ciphertexts"};
  }
  return reply;
}

Hello LinkClient::peer() const {
  std::lock_guard lock(mu_);
  return peer_;
}

Result<LogsReply> LinkClient::logs(std::size_t max_lines) {
  if (const auto p = peer(); p.major == kProtocolMajor && p.minor < 1) {
    return Error{Errc::unsupported, "enclave '" + p.node + "' speaks protocol " + std::to_string(p.major) + "." +
                                        std::to_string(p.minor) + ", without logs (2.1)"};
  }
  auto f = call(MessageType::logs_request, encode_logs_request(max_lines));
  if (!f) return f.error();
  if (f->header.type != MessageType::logs_reply) return Error{Errc::protocol_error, "logs: unexpected reply type"};
  return decode_logs_reply(f->payload);
}

Result<std::vector<prometheus::MetricFamily>> LinkClient::metrics() {
  if (const auto p = peer(); p.major == kProtocolMajor && p.minor < 3) {
    return Error{Errc::unsupported, "enclave '" + p.node + "' speaks protocol " + std::to_string(p.major) + "." +
                                        std::to_string(p.minor) + ", without metrics (2.3)"};
  }
  auto f = call(MessageType::metrics_request, "{}");
  if (!f) return f.error();
  if (f->header.type != MessageType::metrics_reply)
    return Error{Errc::protocol_error, "metrics: unexpected reply type"};
  return decode_metrics_reply(f->payload);
}

Result<AttestReply> LinkClient::attest(const AttestRequest& request) {
  auto f = call(MessageType::attest_request, encode_attest_request(request));
  if (!f) return f.error();
  if (f->header.type != MessageType::attest_reply) return Error{Errc::protocol_error, "attest: unexpected reply type"};
  return decode_attest_reply(f->payload);
}

}  // namespace notify::link
