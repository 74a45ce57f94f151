#include "parent/callbacks/callback_payload.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>

#include <sstream>

namespace notify::callbacks {

std::string callback_event_id(const services::FinalOutcome& outcome) {
  return outcome.request_id + ":" + delivery::state_name(outcome.state);
}

std::string callback_payload(const services::FinalOutcome& outcome, std::chrono::system_clock::time_point at) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
  const Poco::Timestamp ts(static_cast<Poco::Timestamp::TimeVal>(us));
  Poco::JSON::Object data(Poco::JSON_PRESERVE_KEY_ORDER);
  data.set("request_id", outcome.request_id);
  data.set("state", std::string(delivery::state_name(outcome.state)));
  data.set("attempts", outcome.attempts);
  data.set("reference", outcome.reference);
  data.set("reason", outcome.reason);
  data.set("provider", outcome.provider);
  Poco::JSON::Array invalid;
  for (const auto& t : outcome.invalid_tokens) invalid.add(t);
  data.set("invalid_tokens", invalid);  // device tokens the provider reported invalid: drop them
  Poco::JSON::Object event(Poco::JSON_PRESERVE_KEY_ORDER);
  event.set("type", "notification." + std::string(delivery::state_name(outcome.state)));
  event.set("timestamp", Poco::DateTimeFormatter::format(ts, Poco::DateTimeFormat::ISO8601_FRAC_FORMAT));
  event.set("data", data);
  std::ostringstream os;
  event.stringify(os);
  return os.str();
}

}  // namespace notify::callbacks
