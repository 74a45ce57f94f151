#include "parent/ingress/ingress_service.hpp"

#include "parent/ingress/ingress_validation.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/URI.h>

#include <openssl/crypto.h>

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
  return o;
}

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(IngressService& svc, std::size_t max_body) : svc_(svc), max_body_(max_body) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
    std::string body;
    bool too_large = req.hasContentLength() && static_cast<std::size_t>(req.getContentLength64()) > max_body_;
    // Read at most one byte past the limit; the rest of an oversized body is drained (up to a bound) so the client,
    // still sending, receives the 413 instead of a reset connection.
    char buf[8192];
    auto& in = req.stream();
    std::size_t drained = 0;
    const std::size_t drain_limit = 16 * max_body_;
    while (drained < drain_limit && (in.read(buf, sizeof buf) || in.gcount() > 0)) {
      const auto n = static_cast<std::size_t>(in.gcount());
      if (too_large) {
        drained += n;
        continue;
      }
      body.append(buf, n);
      if (body.size() > max_body_) {
        too_large = true;
        drained = body.size();
        body.clear();
      }
    }
    auto reply = svc_.handle(req.getMethod(), req.getURI(), req.get("Authorization", ""), body, too_large);
    resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
    resp.setContentType(reply.content_type);
    if (too_large) resp.setKeepAlive(false);  // the unread rest of the body makes the connection unusable
    resp.setContentLength(static_cast<std::streamsize>(reply.body.size()));
    resp.send() << reply.body;
  }

 private:
  IngressService& svc_;
  std::size_t max_body_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(IngressService& svc, std::size_t max_body) : svc_(svc), max_body_(max_body) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(svc_, max_body_);  // NOLINT: Poco takes ownership
  }

 private:
  IngressService& svc_;
  std::size_t max_body_;
};

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
    params->setMaxThreads(16);
    params->setKeepAlive(true);
    const std::string bound = socket.address().toString();
    server_ =
        std::make_unique<Poco::Net::HTTPServer>(new Factory(*this, options_.max_body_bytes), socket, params);  // NOLINT
    server_->start();
    log_->info("ingress listening on " + bound);
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
    if (path == "/healthz") return {200, R"({"status":"ok"})"};
    if (path == "/metrics") return metrics_text();
    if (path == "/readyz") {
      auto depth = queue_.depth();
      if (!depth) return error(503, "queue: " + depth.error().message);
      if (!link_up_()) return error(503, "link to the enclave is down");
      return {200, R"({"status":"ready"})"};
    }
    if (options_.token) {
      const std::string expected = "Bearer " + std::string(options_.token->reveal());
      const bool match = authorization.size() == expected.size() &&
                         CRYPTO_memcmp(authorization.data(), expected.data(), expected.size()) == 0;
      if (!match) return error(401, "missing or wrong bearer token");
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
  auto parsed = parse_notifications(body);
  if (!parsed) return error(400, parsed.error().message);
  auto stored = queue_.enqueue(*parsed);
  if (!stored) {
    if (stored.error().code == Errc::resource_exhausted) return error(503, stored.error().message);
    log_->error("enqueue failed: " + stored.error().message);
    return error(500, "could not store the notifications: " + stored.error().message);
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
  std::ostringstream m;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    m << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n" << name << " " << v << "\n";
  };
  counter("notify_accepted_total", "notifications durably accepted", metrics_.accepted.load());
  counter("notify_duplicates_total", "submissions of an already known request_id", metrics_.duplicates.load());
  counter("notify_delivered_total", "notifications the provider accepted", metrics_.delivered.load());
  counter("notify_rejected_total", "notifications refused permanently", metrics_.rejected.load());
  counter("notify_retried_total", "retryable failures scheduled for retry", metrics_.retried.load());
  counter("notify_dead_total", "notifications moved to the dead letters", metrics_.dead.load());
  counter("notify_link_failures_total", "batches that failed on the link", metrics_.link_failures.load());
  m << "# HELP notify_delivery_latency_seconds time from 202 to a final outcome (delivered or rejected)\n"
    << "# TYPE notify_delivery_latency_seconds histogram\n";
  for (std::size_t i = 0; i < DeliveryMetrics::kBuckets.size(); ++i) {
    m << "notify_delivery_latency_seconds_bucket{le=\"" << DeliveryMetrics::kBuckets[i] << "\"} "
      << metrics_.latency_buckets[i].load() << "\n";
  }
  m << "notify_delivery_latency_seconds_bucket{le=\"+Inf\"} " << metrics_.latency_count.load() << "\n"
    << "notify_delivery_latency_seconds_sum " << static_cast<double>(metrics_.latency_sum_ms.load()) / 1000.0 << "\n"
    << "notify_delivery_latency_seconds_count " << metrics_.latency_count.load() << "\n";
  auto depth = queue_.depth();
  m << "# HELP notify_queue_depth unfinished notifications\n# TYPE notify_queue_depth gauge\nnotify_queue_depth "
    << (depth ? *depth : 0) << "\n";
  m << "# HELP notify_link_up 1 when the link to the enclave is connected\n# TYPE notify_link_up gauge\nnotify_link_up "
    << (link_up_() ? 1 : 0) << "\n";
  return {200, m.str(), "text/plain; version=0.0.4"};
}

}  // namespace notify::services
