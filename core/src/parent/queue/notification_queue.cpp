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

namespace {
const TokenResult* find_token(std::span<const TokenResult> stored, const std::string& token) {
  for (const auto& t : stored) {
    if (t.token == token) return &t;
  }
  return nullptr;
}
}  // namespace

std::vector<TokenResult> token_states(const Notification& n, std::span<const TokenResult> stored, State state) {
  std::vector<TokenResult> out;
  out.reserve(n.device_tokens.size());
  for (const auto& token : n.device_tokens) {
    if (const auto* t = find_token(stored, token)) {
      out.push_back(*t);
    } else if (state == State::delivered) {
      out.push_back({token, TokenOutcome::delivered, {}, {}});
    } else if (state == State::rejected) {
      out.push_back({token, TokenOutcome::rejected, {}, {}});
    } else {
      out.push_back({token, TokenOutcome::retryable, {}, {}});
    }
  }
  return out;
}

TokenMerge merge_token_results(const Notification& n, std::span<const TokenResult> stored, const DeliveryResult& r) {
  TokenMerge m{r, token_states(n, stored)};
  if (r.tokens.empty() || n.device_tokens.empty()) return m;
  for (auto& state : m.stored) {
    if (state.outcome != TokenOutcome::retryable) continue;  // final already
    if (const auto* now = find_token(r.tokens, state.token)) state = *now;
  }
  m.effective = DeliveryResult::from_tokens(m.stored, r.retry_after);
  if (m.effective.outcome == Outcome::retryable && !r.reason.empty()) m.effective.reason = r.reason;
  if (m.effective.outcome == Outcome::delivered && !r.reference.empty()) m.effective.reference = r.reference;
  m.effective.tokens = r.tokens;  // this delivery's, as reported
  return m;
}

std::vector<std::string> keep_pending_tokens(Notification& n, std::span<const TokenResult> stored) {
  std::vector<std::string> invalid;
  if (stored.empty()) return invalid;
  std::vector<std::string> pending;
  for (auto& token : n.device_tokens) {
    const auto* t = find_token(stored, token);
    if (t == nullptr || t->outcome == TokenOutcome::retryable) {
      pending.push_back(std::move(token));
    } else if (t->outcome == TokenOutcome::invalid_token) {
      invalid.push_back(t->token);
    }
  }
  n.device_tokens = std::move(pending);
  return invalid;
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
