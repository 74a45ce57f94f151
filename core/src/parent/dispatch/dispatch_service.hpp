#pragma once
// Moves notifications from the durable queue to the enclave: `window` workers each lease a batch, deliver it over the
// link and record each result, so up to `window` batches are at the enclave at once (the link multiplexes them on one
// connection) and their leases and completions are group-committed by the queue. Results the enclave reports before
// its reply (deliver_part, as each provider call ends) are recorded as they arrive, so an enclave that dies mid-batch
// leaves only what was still at the provider to be sent again. A link failure puts the rest of the batch back with
// backoff; nothing leased is dropped (an unfinished lease is retried when it expires, even after a crash).
//
// Final outcomes go to the outcome listener (the callbacks) after the queue has stored them; the queue keeps each one
// noted as unannounced until the listener has it durably, so an outcome stored by a host that died before the
// hand-off, or whose hand-off failed, is offered again: when the dispatcher starts, and after a failure with backoff.
//
// Ordering: none across batches. Notifications are leased in due order, but concurrent batches finish in any order,
// and a retried notification goes behind newer ones. Applications that need order must not send the next
// notification before the previous one's outcome.

#include "link/link_client.hpp"
#include "parent/dispatch/delivery_metrics.hpp"
#include "parent/dispatch/outcome_listener.hpp"
#include "parent/queue/notification_queue.hpp"
#include "runtime/service.hpp"

#include <notify/log.hpp>
#include <notify/toolkit/backoff.hpp>
#include <notify/toolkit/stoppable_thread.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace notify::services {

struct DispatchOptions {
  std::size_t batch_size = 50;
  std::chrono::milliseconds poll_interval{200};
  std::size_t window = 8;                           // batches in flight at once (workers)
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
  /// Told about every final outcome once the queue has stored it (the delivery callbacks). Set before start().
  void set_outcome_listener(OutcomeListener* listener) noexcept { listener_ = listener; }

 private:
  void run(toolkit::StoppableThread& self, bool housekeeper);
  /// One leased batch on its way: what recording its results needs, and which are recorded already.
  struct InFlight {
    std::vector<Notification> batch;
    std::vector<std::int64_t> accepted_ms;
    std::vector<int> attempts_before;
    std::vector<std::vector<std::string>> invalid_before;
    std::vector<bool> recorded;
  };
  bool dispatch_once();  // true when something was leased
  /// Stores the results (index into flight.batch, result) not recorded yet in one group-committed write, counts
  /// them, and announces the final ones.
  void record(InFlight& flight, std::span<const std::pair<std::size_t, DeliveryResult>> results);
  void purge_if_due();
  /// Offers the listener the outcomes the queue still notes as unannounced, when some may be owed (at start, after a
  /// failed hand-off) and the backoff allows. On the housekeeping worker only.
  void announce_if_owed();
  /// Hands `finals` to the listener and, once it has them, clears the queue's notes; false when something failed
  /// (then they stay owed).
  bool announce(std::span<const FinalOutcome> finals, std::span<const std::string> request_ids);

  delivery::NotificationQueue& queue_;
  link::LinkClient& link_;
  DispatchOptions options_;
  DeliveryMetrics& metrics_;
  std::shared_ptr<Log> log_;
  OutcomeListener* listener_ = nullptr;
  std::chrono::steady_clock::time_point next_purge_ = std::chrono::steady_clock::now();
  std::mutex purge_mu_;                                    // next_purge_
  std::atomic<bool> announce_owed_{true};                  // the queue may hold unannounced outcomes (true at start)
  std::chrono::steady_clock::time_point next_announce_{};  // housekeeping worker only
  toolkit::Backoff announce_backoff_{std::chrono::seconds(1), std::chrono::seconds(60)};  // housekeeping worker only
  std::atomic<std::size_t> next_wake_{0};
  // Last: stopped and joined before the members their loops use go.
  std::vector<std::unique_ptr<toolkit::StoppableThread>> workers_;
};

}  // namespace notify::services
