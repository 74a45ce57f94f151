#pragma once
// The JSON body of a delivery callback and its stable id:
//   {"type": "notification.<state>", "timestamp": RFC 3339 (when the outcome was recorded),
//    "data": {"request_id", "state", "attempts", "reference", "reason", "provider"}}
// The id ("<request_id>:<state>") is the event's webhook-id at every attempt, so a receiver can deduplicate.

#include "parent/dispatch/outcome_listener.hpp"

#include <chrono>
#include <string>

namespace notify::callbacks {

std::string callback_event_id(const services::FinalOutcome& outcome);
std::string callback_payload(const services::FinalOutcome& outcome, std::chrono::system_clock::time_point at);

}  // namespace notify::callbacks
