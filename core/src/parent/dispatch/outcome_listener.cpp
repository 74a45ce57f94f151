#include "parent/dispatch/outcome_listener.hpp"

namespace notify::services {

FinalOutcome final_outcome_of(const delivery::Record& record) {
  FinalOutcome o;
  o.request_id = record.notification.request_id;
  o.state = record.state;
  o.attempts = record.attempts;
  o.reference = record.reference;
  o.reason = record.reason;
  o.provider = record.notification.provider;
  for (const auto& t : record.tokens) {
    if (t.outcome == TokenOutcome::invalid_token) o.invalid_tokens.push_back(t.token);
  }
  return o;
}

}  // namespace notify::services
