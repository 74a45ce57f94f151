#include "parent/queue/notification_queue.hpp"

#include <algorithm>

namespace notify::delivery {

const char* state_name(State s) noexcept {
  switch (s) {
    case State::queued:
      return "queued";
    case State::in_flight:
      return "in_flight";
    case State::delivered:
      return "delivered";
    case State::rejected:
      return "rejected";
    case State::dead:
      return "dead";
  }
  return "unknown";
}

std::optional<State> parse_state(std::string_view text) noexcept {
  for (State s : {State::queued, State::in_flight, State::delivered, State::rejected, State::dead}) {
    if (text == state_name(s)) return s;
  }
  return std::nullopt;
}

std::chrono::milliseconds retry_delay(const QueueOptions& options, int attempts, std::chrono::milliseconds retry_after,
                                      toolkit::Rng& rng) {
  const toolkit::BackoffPolicy policy{options.backoff_initial, options.backoff_max};
  // The provider's retry_after (e.g. Braze's rate-limit window) wins when it is longer.
  return std::max(policy.delay(attempts - 1, rng), retry_after);
}

Result<std::vector<Record>> NotificationQueue::dead(std::size_t limit) {
  auto ids = dead_ids(limit);
  if (!ids) return ids.error();
  std::vector<Record> out;
  for (const auto& id : *ids) {
    auto r = status(id);
    if (!r) return r.error();
    if (*r) out.push_back(std::move(**r));
  }
  return out;
}

}  // namespace notify::delivery
