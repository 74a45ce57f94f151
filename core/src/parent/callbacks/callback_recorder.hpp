#pragma once
// The dispatcher's side of the callbacks: turns final outcomes into events and appends them to the outbox (one local
// transaction per batch), then wakes the sender. It never touches the network, so delivery does not wait on the
// receiver.

#include "parent/callbacks/callback_outbox.hpp"
#include "parent/dispatch/delivery_metrics.hpp"
#include "parent/dispatch/outcome_listener.hpp"

#include <notify/log.hpp>
#include <notify/toolkit/clock.hpp>

#include <functional>
#include <memory>

namespace notify::callbacks {

class CallbackRecorder final : public services::OutcomeListener {
 public:
  CallbackRecorder(CallbackOutbox& outbox, std::function<void()> wake, services::DeliveryMetrics& metrics,
                   std::shared_ptr<Log> log, std::shared_ptr<const toolkit::Clock> clock = toolkit::real_clock());
  /// True once the events are in the outbox (durably).
  bool on_final(std::span<const services::FinalOutcome> outcomes) noexcept override;

 private:
  CallbackOutbox& outbox_;
  std::function<void()> wake_;
  services::DeliveryMetrics& metrics_;
  std::shared_ptr<Log> log_;
  std::shared_ptr<const toolkit::Clock> clock_;
};

}  // namespace notify::callbacks
