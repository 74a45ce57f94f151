#pragma once
// Drains the callbacks outbox: `concurrency` workers each lease one due event, POST it signed to its URL and record
// the answer (2xx: acknowledged and deleted; anything else, or no answer: retried with backoff). Nothing here runs
// on a dispatch worker, so a slow or absent receiver holds up callbacks only, never delivery.
//
// Ordering: none. Events are leased in due order, but concurrent workers and per-event backoff reorder them.

#include "parent/callbacks/callback_client.hpp"
#include "parent/callbacks/callback_outbox.hpp"
#include "parent/callbacks/callback_url.hpp"
#include "parent/dispatch/delivery_metrics.hpp"
#include "runtime/service.hpp"

#include <notify/log.hpp>
#include <notify/toolkit/stoppable_thread.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace notify::callbacks {

struct SenderOptions {
  CallbackUrl url;                                // where events without their own URL go
  std::size_t concurrency = 4;                    // events in flight at once
  std::chrono::milliseconds poll_interval{1000};  // how often idle workers look for events whose backoff ended
};

class CallbackSender final : public services::Service {
 public:
  CallbackSender(CallbackOutbox& outbox, CallbackClient client, SenderOptions options,
                 services::DeliveryMetrics& metrics, std::shared_ptr<Log> log);
  ~CallbackSender() override;
  [[nodiscard]] std::string_view name() const noexcept override { return "callbacks"; }
  Status start() override;
  void stop() override;
  /// New events are in the outbox.
  void wake();

 private:
  void run(toolkit::StoppableThread& self);
  bool send_one();  // true when an event was leased
  void refresh_pending();

  CallbackOutbox& outbox_;
  CallbackClient client_;
  SenderOptions options_;
  services::DeliveryMetrics& metrics_;
  std::shared_ptr<Log> log_;
  // Last: stopped and joined before the members their loops use go.
  std::vector<std::unique_ptr<toolkit::StoppableThread>> workers_;
};

}  // namespace notify::callbacks
