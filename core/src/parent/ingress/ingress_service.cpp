#include "parent/ingress/ingress_service.hpp"

#include "parent/ingress/ingress_validation.hpp"
#include "parent/ingress/metrics_exposition.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/URI.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <sstream>

namespace notify::services {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

std::string json(const Object& o) {
  std::ostringstream os;
  o.stringify(os);
  return os.str();
}

IngressService::Reply error(int status, const std::string& message) {
  Object o;
  o.set("error", message);
  return {status, json(o)};
}

Object::Ptr record_json(const delivery::Record& r) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("request_id", r.notification.request_id);
  o->set("state", std::string(delivery::state_name(r.state)));
  o->set("attempts", r.attempts);
  if (!r.reference.empty()) o->set("reference", r.reference);
  if (!r.reason.empty()) o->set("reason", r.reason);
  Array::Ptr history = new Array();
  for (const auto& a : r.history) {
    Object::Ptr h = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    h->set("at_ms", static_cast<Poco::Int64>(a.at_ms));
    h->set("outcome", a.outcome);
    h->set("detail", a.detail);
    history->add(h);
  }
  o->set("history", history);
  if (!r.tokens.empty()) {
    // Per device token: pending (sent again on the next attempt), delivered, rejected or invalid_token; the invalid
    // ones also listed apart, for applications that drop them.
    Array::Ptr tokens = new Array();
    Array::Ptr invalid = new Array();
    for (const auto& t : r.tokens) {
      Object::Ptr j = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
      j->set("token", t.token);
      j->set("state", t.outcome == TokenOutcome::retryable ? std::string("pending")
                                                           : std::string(token_outcome_name(t.outcome)));
      if (!t.reference.empty()) j->set("reference", t.reference);
      if (!t.reason.empty()) j->set("reason", t.reason);
      tokens->add(j);
      if (t.outcome == TokenOutcome::invalid_token) invalid->add(t.token);
    }
    o->set("tokens", tokens);
    o->set("invalid_tokens", invalid);
  }
  return o;
}

using Clock = std::chrono::steady_clock;

// Requests in progress per client IP, so that one client cannot occupy every worker.
class ClientSlots {
 public:
  explicit ClientSlots(std::size_t per_client) : per_client_(per_client) {}
  bool acquire(const std::string& client) {
    std::lock_guard lock(mu_);
    auto& n = in_flight_[client];
    if (n >= per_client_) return false;
    ++n;
    return true;
  }
  void release(const std::string& client) {
    std::lock_guard lock(mu_);
    auto it = in_flight_.find(client);
    if (it != in_flight_.end() && --it->second == 0) in_flight_.erase(it);
  }

 private:
  std::size_t per_client_;
  std::mutex mu_;
  std::map<std::string, std::size_t> in_flight_;
};

class SlotGuard {
 public:
  SlotGuard(ClientSlots& slots, std::string client) : slots_(slots), client_(std::move(client)) {}
  ~SlotGuard() { slots_.release(client_); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  ClientSlots& slots_;
  std::string client_;
};

void send(Poco::Net::HTTPServerResponse& resp, const IngressService::Reply& reply, bool close) {
  resp.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
  resp.setContentType(reply.content_type);
  if (close) resp.setKeepAlive(false);  // an unread body makes the connection unusable
  if (reply.status == 429 || reply.status == 503) resp.set("Retry-After", "1");
  resp.setContentLength(static_cast<std::streamsize>(reply.body.size()));
  resp.send() << reply.body << std::flush;
}

// Appends to `out` what one read of the socket brings (blocking for at most the socket's receive timeout), instead
// of istream::read's "until the buffer is full", so the caller checks its deadline after every arrival. False at the
// end of the body, on a timeout or on an error.
bool read_some(std::istream& in, std::string& out, std::size_t max) {
  if (in.peek() == std::char_traits<char>::eof()) return false;
  char buf[8192];
  const auto n = in.readsome(buf, static_cast<std::streamsize>(std::min(max, sizeof buf)));
  out.append(buf, static_cast<std::size_t>(n));
  return n > 0;
}

// After an answer given without reading the body: reads and drops what the client is still sending, up to `limit`
// bytes and `budget` of time (each read bounded by the same budget), so that a client that sent its body at once
// receives the answer instead of a reset connection, while a client that trickles is cut off quickly.
void drain(Poco::Net::HTTPServerRequest& req, std::size_t limit, std::chrono::milliseconds budget) {
  if (auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&req)) {
    impl->socket().setReceiveTimeout(Poco::Timespan(budget.count() * 1000));
  }
  const auto deadline = Clock::now() + budget;
  auto& in = req.stream();
  std::string dropped;
  std::size_t drained = 0;
  try {
    while (drained < limit && Clock::now() < deadline && read_some(in, dropped, limit - drained)) {
      drained += dropped.size();
      dropped.clear();
    }
  } catch (const Poco::Exception&) {
    // a timeout or a reset: the connection is closed after the answer anyway
  }
}

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(IngressService& svc, ClientSlots& slots, const IngressOptions& options)
      : svc_(svc), slots_(slots), options_(options) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
    const bool has_body = req.getChunkedTransferEncoding() || (req.hasContentLength() && req.getContentLength64() > 0);
    const std::string client = req.clientAddress().host().toString();
    if (!slots_.acquire(client)) {
      send(resp, {429, R"({"error":"too many requests in progress from this client"})"}, has_body);
      if (has_body) drain(req, kRefusedDrainBytes, kRefusedDrainTime);
      return;
    }
    const SlotGuard slot(slots_, client);

    // Decided from the request line and headers alone, before reading any of the body.
    std::optional<std::uint64_t> length;
    if (req.hasContentLength()) length = static_cast<std::uint64_t>(req.getContentLength64());
    const auto authorization = req.get("Authorization", "");
    if (auto early = svc_.precheck(req.getMethod(), req.getURI(), authorization, length)) {
      send(resp, *early, has_body);
      if (has_body) {
        // A second's grace for a body already on its way; an authenticated client (a 404/405/413) may have sent a
        // large one, anyone else is read no further than 64 KiB.
        drain(req, early->status == 401 ? kRefusedDrainBytes : 16 * options_.max_body_bytes, kRefusedDrainTime);
      }
      return;
    }

    // The body, at most one byte past the limit (a chunked body has no Content-Length to refuse early), within
    // body_timeout as a whole: a client that trickles its body gets 408, not a worker for as long as it likes.
    std::string body;
    bool too_large = false;
    bool timed_out = false;
    const auto deadline = Clock::now() + options_.body_timeout;
    auto& in = req.stream();
    try {
      while (read_some(in, body, options_.max_body_bytes + 1 - body.size())) {
        if (body.size() > options_.max_body_bytes) {
          too_large = true;
          break;
        }
        if (Clock::now() > deadline) {
          timed_out = true;
          break;
        }
      }
    } catch (const Poco::TimeoutException&) {
      timed_out = true;
    }
    if (in.bad() && !too_large) timed_out = true;  // the stream hides the socket's timeout as badbit
    if (timed_out) {
      send(resp, {408, R"({"error":"the request body did not arrive in time"})"}, true);
      return;
    }
    if (too_large) {
      body.clear();
      send(resp, svc_.handle(req.getMethod(), req.getURI(), authorization, body, true), true);
      drain(req, 16 * options_.max_body_bytes, kRefusedDrainTime);
      return;
    }
    send(resp, svc_.handle(req.getMethod(), req.getURI(), authorization, body, false), false);
  }

 private:
  static constexpr std::size_t kRefusedDrainBytes = 64 * 1024;
  static constexpr std::chrono::milliseconds kRefusedDrainTime{1000};

  IngressService& svc_;
  ClientSlots& slots_;
  const IngressOptions& options_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(IngressService& svc, const IngressOptions& options)
      : svc_(svc), options_(options), slots_(options.max_requests_per_client) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(svc_, slots_, options_);  // NOLINT: Poco takes ownership
  }

 private:
  IngressService& svc_;
  const IngressOptions& options_;
  ClientSlots slots_;
};

bool bearer_matches(const std::string& authorization, const std::optional<Secret>& token) {
  if (!token) return false;
  const std::string expected = "Bearer " + std::string(token->reveal());
  return authorization.size() == expected.size() &&
         CRYPTO_memcmp(authorization.data(), expected.data(), expected.size()) == 0;
}

bool is_loopback(const Poco::Net::SocketAddress& a) { return a.host().isLoopback(); }

}  // namespace

IngressService::IngressService(IngressOptions options, delivery::NotificationQueue& queue, DeliveryMetrics& metrics,
                               std::function<bool()> link_up, std::function<void()> on_enqueued,
                               std::shared_ptr<Log> log)
    : options_(std::move(options)),
      queue_(queue),
      metrics_(metrics),
      link_up_(std::move(link_up)),
      on_enqueued_(std::move(on_enqueued)),
      log_(std::move(log)) {}

IngressService::~IngressService() { stop(); }

Status IngressService::start() {
  try {
    Poco::Net::SocketAddress address(options_.listen);
    if (!options_.token && !is_loopback(address)) {
      return Error{Errc::refused, "ingress.listen " + options_.listen +
                                      " is not loopback and no ingress.token is set: refusing an open API"};
    }
    if (!options_.token) log_->warning("ingress has no token: anyone on this host can submit notifications");
    Poco::Net::ServerSocket socket(address, 128);
    auto params = new Poco::Net::HTTPServerParams();  // NOLINT: Poco reference-counts it
    params->setMaxThreads(static_cast<int>(options_.threads));
    params->setKeepAlive(true);
    params->setTimeout(
        Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(options_.io_timeout).count()));
    bound_ = socket.address().toString();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this, options_), socket, params);  // NOLINT
    server_->start();
    log_->info("ingress listening on " + bound_);
    return {};
  } catch (const Poco::Exception& e) {
    return Error{Errc::io_error, "ingress " + options_.listen + ": " + e.displayText()};
  }
}

void IngressService::stop() {
  if (server_) {
    server_->stopAll(false);  // finish requests in progress
    server_.reset();
  }
}

std::optional<IngressService::Reply> IngressService::check_access(const std::string& path,
                                                                  const std::string& authorization) const {
  if (path == "/healthz") return std::nullopt;
  if (path == "/readyz" && !options_.readyz_requires_token) return std::nullopt;
  if (path == "/metrics" && options_.metrics_token) {
    if (bearer_matches(authorization, options_.metrics_token) || bearer_matches(authorization, options_.token)) {
      return std::nullopt;
    }
    return error(401, "missing or wrong bearer token");
  }
  if (!options_.token) return std::nullopt;  // no token: the API is on loopback only (start() refuses otherwise)
  if (bearer_matches(authorization, options_.token)) return std::nullopt;
  return error(401, "missing or wrong bearer token");
}

std::optional<IngressService::Reply> IngressService::precheck(const std::string& method, const std::string& target,
                                                              const std::string& authorization,
                                                              std::optional<std::uint64_t> content_length) {
  std::string path;
  try {
    path = Poco::URI(target).getPath();
  } catch (const Poco::Exception&) {
    return error(400, "malformed request target");
  }
  if (auto refused = check_access(path, authorization)) return refused;
  if (path == "/v1/notifications") {
    if (method != "POST") return error(405, "use POST");
    if (content_length && *content_length > options_.max_body_bytes) {
      return error(413, "body larger than " + std::to_string(options_.max_body_bytes) + " bytes");
    }
    return std::nullopt;
  }
  // Every other endpoint takes no body: handle() answers it (404 included) without one.
  return std::nullopt;
}

IngressService::Reply IngressService::handle(const std::string& method, const std::string& target,
                                             const std::string& authorization, const std::string& body,
                                             bool body_too_large) {
  // Route on the path alone: "/v1/notifications/abc?x=1" is "/v1/notifications/abc" (Poco percent-decodes it).
  std::string path;
  try {
    path = Poco::URI(target).getPath();
  } catch (const Poco::Exception&) {
    return error(400, "malformed request target");
  }
  try {
    if (auto refused = check_access(path, authorization)) return *refused;
    if (path == "/healthz") return {200, R"({"status":"ok"})"};
    if (path == "/metrics") return metrics_text();
    if (path == "/readyz") {
      auto depth = queue_.depth();
      if (!depth) return error(503, "queue: " + depth.error().message);
      if (!link_up_()) return error(503, "link to the enclave is down");
      return {200, R"({"status":"ready"})"};
    }
    if (path == "/v1/notifications") {
      if (method != "POST") return error(405, "use POST");
      if (body_too_large) return error(413, "body larger than " + std::to_string(options_.max_body_bytes) + " bytes");
      return post_notifications(body);
    }
    const std::string prefix = "/v1/notifications/";
    if (path.rfind(prefix, 0) == 0 && method == "GET") return get_notification(path.substr(prefix.size()));
    if (path == "/v1/dead" && method == "GET") {
      auto dead = queue_.dead(1000);
      if (!dead) return error(500, dead.error().message);
      Array list;
      for (const auto& r : *dead) list.add(record_json(r));
      Object o;
      o.set("dead", list);
      return {200, json(o)};
    }
    const std::string dead_prefix = "/v1/dead/";
    if (path.rfind(dead_prefix, 0) == 0 && path.size() > dead_prefix.size() + 6 &&
        path.compare(path.size() - 6, 6, "/retry") == 0 && method == "POST") {
      const auto id = path.substr(dead_prefix.size(), path.size() - dead_prefix.size() - 6);
      auto st = queue_.retry_dead(id);
      if (!st) return error(st.code() == Errc::not_found ? 404 : 500, st.message());
      on_enqueued_();
      return {200, R"({"status":"queued"})"};
    }
    return error(404, "no such endpoint: " + method + " " + path);
  } catch (const std::exception& e) {
    return error(500, e.what());
  }
}

IngressService::Reply IngressService::post_notifications(const std::string& body) {
  auto parsed = parse_submission(body, static_cast<bool>(callback_urls_));
  if (!parsed) return error(400, parsed.error().message);
  if (callback_urls_) {
    std::vector<std::pair<std::string, std::string>> urls;
    for (std::size_t i = 0; i < parsed->notifications.size(); ++i) {
      if (!parsed->callback_urls[i].empty())
        urls.emplace_back(parsed->notifications[i].request_id, parsed->callback_urls[i]);
    }
    // Stored first: a crash before the enqueue leaves an unused URL, never an accepted notification without its URL.
    if (auto st = callback_urls_(urls); !st) {
      log_->error("storing callback URLs failed: " + st.message());
      return error(503, "could not store the callback URLs: " + st.message());
    }
  }
  auto stored = queue_.enqueue(parsed->notifications);
  if (!stored) {
    if (stored.error().code == Errc::resource_exhausted) return error(503, stored.error().message);
    log_->error("enqueue failed: " + stored.error().message);
    // The store is down or failing (Redis restarting, disk error): nothing was accepted, and the same request may
    // succeed shortly, which is what 503 with Retry-After tells a client. A bug on our side stays a 500.
    const int status = stored.error().code == Errc::internal ? 500 : 503;
    return error(status, "could not store the notifications: " + stored.error().message);
  }
  Array accepted, duplicates;
  for (const auto& e : *stored) {
    (e.duplicate ? duplicates : accepted).add(e.request_id);
    ++(e.duplicate ? metrics_.duplicates : metrics_.accepted);
  }
  on_enqueued_();
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("accepted", accepted);
  o.set("duplicates", duplicates);
  return {202, json(o)};
}

IngressService::Reply IngressService::get_notification(const std::string& id) {
  auto r = queue_.status(id);
  if (!r) return error(500, r.error().message);
  if (!*r) return error(404, "no notification " + id);
  return {200, json(*record_json(**r))};
}

IngressService::Reply IngressService::metrics_text() {
  namespace ex = exposition;
  std::vector<prometheus::MetricFamily> f;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    f.push_back(ex::counter(name, help, static_cast<double>(v)));
  };
  counter("notify_accepted_total", "notifications durably accepted", metrics_.accepted.load());
  counter("notify_duplicates_total", "submissions of an already known request_id", metrics_.duplicates.load());
  counter("notify_delivered_total", "notifications the provider accepted", metrics_.delivered.load());
  counter("notify_rejected_total", "notifications refused permanently", metrics_.rejected.load());
  counter("notify_retried_total", "retryable failures scheduled for retry", metrics_.retried.load());
  counter("notify_dead_total", "notifications moved to the dead letters", metrics_.dead.load());
  counter("notify_link_failures_total", "batches that failed on the link", metrics_.link_failures.load());
  counter("notify_invalid_tokens_total", "device tokens a provider reported invalid (unregistered or malformed)",
          metrics_.invalid_tokens.load());
  if (metrics_.callbacks_enabled.load()) {
    counter("notify_callbacks_sent_total", "delivery callbacks the receiver acknowledged",
            metrics_.callbacks_sent.load());
    counter("notify_callbacks_failed_total", "callback attempts without a 2xx answer (retried with backoff)",
            metrics_.callbacks_failed.load());
    counter("notify_callbacks_dropped_total", "callbacks given up after callbacks.max_attempts",
            metrics_.callbacks_dropped.load());
    f.push_back(ex::gauge("notify_callbacks_pending", "callbacks waiting in the outbox",
                          static_cast<double>(metrics_.callbacks_pending.load())));
  }
  std::array<std::uint64_t, DeliveryMetrics::kBuckets.size()> cumulative{};
  for (std::size_t i = 0; i < cumulative.size(); ++i) cumulative[i] = metrics_.latency_buckets[i].load();
  f.push_back(ex::histogram("notify_delivery_latency_seconds",
                            "time from 202 to a final outcome (delivered or rejected)", DeliveryMetrics::kBuckets,
                            cumulative, metrics_.latency_count.load(),
                            static_cast<double>(metrics_.latency_sum_ms.load()) / 1000.0));
  auto depth = queue_.depth();
  f.push_back(ex::gauge("notify_queue_depth", "unfinished notifications", static_cast<double>(depth ? *depth : 0)));
  f.push_back(ex::gauge("notify_link_up", "1 when the link to the enclave is connected", link_up_() ? 1 : 0));
  if (extra_metrics_) {
    auto more = extra_metrics_();
    f.insert(f.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  return {200, ex::text(std::move(f)), "text/plain; version=0.0.4"};
}

}  // namespace notify::services
