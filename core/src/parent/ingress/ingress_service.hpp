#pragma once
// The parent's HTTP API (Poco HTTPServer):
//   POST /v1/notifications          one notification or {"notifications": [...]}; 202 once durably queued
//   GET  /v1/notifications/{id}     state, attempts, provider reference, reason, attempt history
//   GET  /v1/dead                   dead letters;  POST /v1/dead/{id}/retry  queue one again
//   GET  /healthz  (process up)   GET /readyz  (link up, queue readable)   GET /metrics  (Prometheus text)
// 400 names the bad field, 401 without the configured bearer token, 413 past max_body_bytes, 503 when the queue is
// full (back-pressure: nothing from that request was stored).
//
// Hardening: everything that can be decided from the request line and the headers — the token, the route, a
// Content-Length past the limit, the client's share of the workers — is decided before a single body byte is read
// (precheck), and such a refusal closes the connection, so an unauthenticated client cannot hold a worker by
// trickling a body. A body must arrive within body_timeout. /metrics takes the token or metrics_token; /readyz is
// open unless readyz_requires_token; /healthz is always open (it says only "up").

#include "parent/dispatch/delivery_metrics.hpp"
#include "parent/queue/notification_queue.hpp"
#include "runtime/service.hpp"

#include <notify/log.hpp>
#include <notify/secret.hpp>

#include <prometheus/metric_family.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace Poco::Net {
class HTTPServer;
}

namespace notify::services {

struct IngressOptions {
  std::string listen = "127.0.0.1:8088";
  std::optional<Secret> token;          // no token: loopback only
  std::optional<Secret> metrics_token;  // also accepted on /metrics (a scrape-only token for Prometheus)
  bool readyz_requires_token = false;   // load balancers' probes usually carry no token
  std::size_t max_body_bytes = 1 << 20;
  std::size_t threads = 16;                        // workers serving requests
  std::size_t max_requests_per_client = 4;         // concurrent requests of one client IP; more get 429
  std::chrono::milliseconds io_timeout{10'000};    // one socket read or write (headers included)
  std::chrono::milliseconds body_timeout{30'000};  // the whole body
};

class IngressService final : public Service {
 public:
  IngressService(IngressOptions options, delivery::NotificationQueue& queue, DeliveryMetrics& metrics,
                 std::function<bool()> link_up, std::function<void()> on_enqueued, std::shared_ptr<Log> log);
  ~IngressService() override;
  [[nodiscard]] std::string_view name() const noexcept override { return "ingress"; }
  Status start() override;
  void stop() override;

  /// Stores per-notification callback URLs (request_id, url) durably; called before the notifications are enqueued.
  using CallbackUrlStore = std::function<Status(std::span<const std::pair<std::string, std::string>>)>;
  /// With a store, the ingress accepts `callback_url` (callbacks.allow_per_notification_url); without one it refuses
  /// the field. Set before start().
  void set_callback_url_store(CallbackUrlStore store) { callback_urls_ = std::move(store); }
  /// More families for /metrics, asked at each scrape (the enclave's series, this host's plugins'). Set before start().
  using MetricsSource = std::function<std::vector<prometheus::MetricFamily>()>;
  void set_extra_metrics(MetricsSource source) { extra_metrics_ = std::move(source); }

  // Used by the request handler.
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  /// The answer that the request line and headers already decide — 401, 404, 405, 413 by Content-Length — or
  /// nullopt when the body should be read. Called before any body byte is read.
  std::optional<Reply> precheck(const std::string& method, const std::string& target, const std::string& authorization,
                                std::optional<std::uint64_t> content_length);
  /// Answers one request. `target` is the request line's URI as sent ("/v1/notifications/abc?x=1"): routing uses its
  /// path only, so a query string never changes which endpoint answers.
  Reply handle(const std::string& method, const std::string& target, const std::string& authorization,
               const std::string& body, bool body_too_large);

 private:
  /// The endpoint's access rule applied to `authorization`: nullopt when allowed, else the 401.
  std::optional<Reply> check_access(const std::string& path, const std::string& authorization) const;
  Reply post_notifications(const std::string& body);
  Reply get_notification(const std::string& id);
  Reply metrics_text();

  IngressOptions options_;
  delivery::NotificationQueue& queue_;
  DeliveryMetrics& metrics_;
  std::function<bool()> link_up_;
  std::function<void()> on_enqueued_;
  CallbackUrlStore callback_urls_;
  MetricsSource extra_metrics_;
  std::shared_ptr<Log> log_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::string bound_;

 public:
  /// The address the server listens on once started (the real port when `listen` asked for port 0).
  [[nodiscard]] const std::string& bound_address() const { return bound_; }
};

}  // namespace notify::services
