#include "parent/queue/notification_queue.hpp"

#include <algorithm>

namespace notify::delivery {

const char* state_name(State s) noexcept {
  switch (s) {
    case State::queued: return "queued";
    case State::in_flight: return "in_flight";
    case State::delivered: return "delivered";
    case State::rejected: return "rejected";
    case State::dead: return "dead";
  }
  return "unknown";
}

std::optional<State> parse_state(std::string_view text) noexcept {
  for (State s : {State::queued, State::in_flight, State::delivered, State::rejected, State::dead}) {
    if (text == state_name(s)) return s;
  }
  return std::nullopt;
}

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::chrono::milliseconds retry_delay(const QueueOptions& options, int attempts, std::chrono::milliseconds retry_after,
                                      std::mt19937_64& rng) {
  const auto base = std::min<std::int64_t>(options.backoff_max.count(),
                                           options.backoff_initial.count() << std::min(attempts - 1, 30));
  std::uniform_int_distribution<std::int64_t> jitter(base / 2, std::max<std::int64_t>(base, 1));
  // The provider's retry_after (e.g. Braze's rate-limit window) wins when it is longer.
  return std::max(std::chrono::milliseconds(jitter(rng)), retry_after);
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
