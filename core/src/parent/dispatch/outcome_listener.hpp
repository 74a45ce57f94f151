#pragma once
// What the dispatcher tells others about each notification that reached a final state (delivered, rejected, dead),
// after the queue has stored that state. A listener must return quickly and never wait on the network: it runs on a
// dispatch worker, between one batch and the next (the callbacks only append to their local outbox here).
//
// The queue notes each such outcome as unannounced in the same transaction that makes it final, and forgets the note
// only when on_final() says the outcomes are handed on durably. Outcomes whose hand-off failed, or whose host died
// before it, are offered again (when the dispatcher starts, and after a failure), so a listener sees each outcome at
// least once and must treat a repeat as the same event.

#include "parent/queue/notification_queue.hpp"

#include <span>
#include <string>
#include <vector>

namespace notify::services {

struct FinalOutcome {
  std::string request_id;
  delivery::State state = delivery::State::delivered;  // delivered, rejected or dead
  int attempts = 0;                                    // deliveries tried, this one included
  std::string reference;                               // the provider's reference when delivered
  std::string reason;                                  // why it was rejected, or the last failure of a dead one
  std::string provider;                                // the provider instance named, empty for the default
  std::vector<std::string> invalid_tokens;             // device tokens the provider reported invalid, every attempt
};

/// The outcome a stored final record stands for (what the dispatcher offers again for an unannounced one).
FinalOutcome final_outcome_of(const delivery::Record& record);

class OutcomeListener {
 public:
  virtual ~OutcomeListener() = default;
  /// True when the outcomes are stored durably by the listener (the queue may forget it owes them); false to be
  /// offered them again later.
  virtual bool on_final(std::span<const FinalOutcome> outcomes) noexcept = 0;
};

}  // namespace notify::services
