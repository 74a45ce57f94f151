#pragma once
// The parent's HTTP API (Poco HTTPServer):
//   POST /v1/notifications          one notification or {"notifications": [...]}; 202 once durably queued
//   GET  /v1/notifications/{id}     state, attempts, provider reference, reason, attempt history
//   GET  /v1/dead                   dead letters;  POST /v1/dead/{id}/retry  queue one again
//   GET  /healthz  (process up)   GET /readyz  (link up, queue readable)   GET /metrics  (Prometheus text)
// 400 names the bad field, 401 without the configured bearer token, 413 past max_body_bytes, 503 when the queue is
// full (back-pressure: nothing from that request was stored).

#include "parent/dispatch/delivery_metrics.hpp"
#include "parent/queue/notification_queue.hpp"
#include "runtime/service.hpp"

#include <notify/log.hpp>
#include <notify/secret.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace Poco::Net {
class HTTPServer;
}

namespace notify::services {

struct IngressOptions {
  std::string listen = "127.0.0.1:8088";
  std::optional<Secret> token;  // no token: loopback only
  std::size_t max_body_bytes = 1 << 20;
};

class IngressService final : public Service {
 public:
  IngressService(IngressOptions options, delivery::NotificationQueue& queue, DeliveryMetrics& metrics,
                 std::function<bool()> link_up, std::function<void()> on_enqueued, std::shared_ptr<Log> log);
  ~IngressService() override;
  [[nodiscard]] std::string_view name() const noexcept override { return "ingress"; }
  Status start() override;
  void stop() override;

  // Used by the request handler.
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  /// Answers one request. `target` is the request line's URI as sent ("/v1/notifications/abc?x=1"): routing uses its
  /// path only, so a query string never changes which endpoint answers.
  Reply handle(const std::string& method, const std::string& target, const std::string& authorization,
               const std::string& body, bool body_too_large);

 private:
  Reply post_notifications(const std::string& body);
  Reply get_notification(const std::string& id);
  Reply metrics_text();

  IngressOptions options_;
  delivery::NotificationQueue& queue_;
  DeliveryMetrics& metrics_;
  std::function<bool()> link_up_;
  std::function<void()> on_enqueued_;
  std::shared_ptr<Log> log_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace notify::services
