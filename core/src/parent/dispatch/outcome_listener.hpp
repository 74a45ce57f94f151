#pragma once
// What the dispatcher tells others about each notification that reached a final state (delivered, rejected, dead),
// after the queue has stored that state. A listener must return quickly and never wait on the network: it runs on a
// dispatch worker, between one batch and the next (the callbacks only append to their local outbox here).

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

class OutcomeListener {
 public:
  virtual ~OutcomeListener() = default;
  virtual void on_final(std::span<const FinalOutcome> outcomes) noexcept = 0;
};

}  // namespace notify::services
