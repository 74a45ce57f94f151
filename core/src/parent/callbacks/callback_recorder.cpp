#include "parent/callbacks/callback_recorder.hpp"

#include "parent/callbacks/callback_payload.hpp"

namespace notify::callbacks {

CallbackRecorder::CallbackRecorder(CallbackOutbox& outbox, std::function<void()> wake,
                                   services::DeliveryMetrics& metrics, std::shared_ptr<Log> log,
                                   std::shared_ptr<const toolkit::Clock> clock)
    : outbox_(outbox), wake_(std::move(wake)), metrics_(metrics), log_(std::move(log)), clock_(std::move(clock)) {}

bool CallbackRecorder::on_final(std::span<const services::FinalOutcome> outcomes) noexcept {
  try {
    std::vector<OutboxEvent> events;
    events.reserve(outcomes.size());
    std::vector<std::string> finished;  // final for good: their per-notification URLs are not needed again
    const auto now = clock_->system_now();
    for (const auto& o : outcomes) {
      auto url = outbox_.url_for(o.request_id);
      if (!url) {
        // Sent to the configured URL instead: better late at the default receiver than not at all.
        log_->error("callbacks: reading the callback_url of " + o.request_id + ": " + url.error().message);
      }
      events.push_back({callback_event_id(o), url ? std::move(*url) : std::string(), callback_payload(o, now), 0});
      if (o.state != delivery::State::dead) finished.push_back(o.request_id);
    }
    if (auto st = outbox_.append(events); !st) {
      // The queue still notes these outcomes as unannounced: the dispatcher offers them again with backoff.
      log_->error("callbacks: storing " + std::to_string(events.size()) +
                  " event(s) in the outbox failed, they are offered again later: " + st.message());
      return false;
    }
    if (auto st = outbox_.forget_urls(finished); !st) log_->warning("callbacks: " + st.message());
    if (auto n = outbox_.pending()) metrics_.callbacks_pending = *n;
    wake_();
    return true;
  } catch (const std::exception& e) {
    log_->error(std::string("callbacks: ") + e.what());
    return false;
  }
}

}  // namespace notify::callbacks
