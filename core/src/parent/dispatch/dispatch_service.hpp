#pragma once
// Moves notifications from the durable queue to the enclave: leases a batch, delivers it over the link, records each
// result. A link failure puts the whole batch back with backoff; nothing leased is dropped (an unfinished lease is
// retried when it expires, even after a crash).

#include "link/link_client.hpp"
#include "parent/dispatch/delivery_metrics.hpp"
#include "parent/queue/notification_queue.hpp"
#include "runtime/service.hpp"

#include <notify/log.hpp>
#include <notify/toolkit/stoppable_thread.hpp>

#include <memory>

namespace notify::services {

struct DispatchOptions {
  std::size_t batch_size = 50;
  std::chrono::milliseconds poll_interval{200};
  std::chrono::milliseconds purge_interval{60000};  // how often finished records past retention are deleted
};

class DispatchService final : public Service {
 public:
  DispatchService(delivery::NotificationQueue& queue, link::LinkClient& link, DispatchOptions options,
                  DeliveryMetrics& metrics, std::shared_ptr<Log> log);
  ~DispatchService() override;
  [[nodiscard]] std::string_view name() const noexcept override { return "dispatch"; }
  Status start() override;
  void stop() override;
  /// Called after an enqueue, so new work does not wait for the next poll.
  void wake();

 private:
  void run();
  bool dispatch_once();  // true when something was leased
  void purge_if_due();

  delivery::NotificationQueue& queue_;
  link::LinkClient& link_;
  DispatchOptions options_;
  DeliveryMetrics& metrics_;
  std::shared_ptr<Log> log_;
  std::chrono::steady_clock::time_point next_purge_ = std::chrono::steady_clock::now();
  toolkit::StoppableThread thread_;  // last: stopped and joined before the members its loop uses go
};

}  // namespace notify::services
