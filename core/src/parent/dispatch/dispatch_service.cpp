#include "parent/dispatch/dispatch_service.hpp"

#include <algorithm>

namespace notify::services {

DispatchService::DispatchService(delivery::NotificationQueue& queue, link::LinkClient& link, DispatchOptions options,
                                 DeliveryMetrics& metrics, std::shared_ptr<Log> log)
    : queue_(queue), link_(link), options_(options), metrics_(metrics), log_(std::move(log)) {
  const std::size_t n = std::max<std::size_t>(1, options_.window);
  for (std::size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<toolkit::StoppableThread>());
}

DispatchService::~DispatchService() { stop(); }

Status DispatchService::start() {
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    auto& self = *workers_[i];
    self.start([this, &self, housekeeper = i == 0] { run(self, housekeeper); });
  }
  return {};
}

void DispatchService::stop() {
  for (auto& w : workers_) w->stop();
}

void DispatchService::wake() {
  // One worker per wake, in turn: one enqueue wakes one lease, not `window` of them racing for the same rows. A
  // worker that leases a full batch wakes the next one (dispatch_once), so a backlog fills the window.
  const auto i = next_wake_.fetch_add(1, std::memory_order_relaxed) % workers_.size();
  workers_[i]->wake();
}

void DispatchService::run(toolkit::StoppableThread& self, bool housekeeper) {
  while (!self.stopping()) {
    if (housekeeper) {
      announce_if_owed();
      purge_if_due();
    }
    if (dispatch_once()) continue;                       // more may be due right away
    if (!self.wait_for(options_.poll_interval)) return;  // a wake() ends the wait early
  }
}

void DispatchService::purge_if_due() {
  std::lock_guard lock(purge_mu_);
  if (std::chrono::steady_clock::now() < next_purge_) return;
  next_purge_ = std::chrono::steady_clock::now() + options_.purge_interval;
  auto removed = queue_.purge_finished();
  if (!removed)
    log_->warning("retention purge failed: " + removed.error().message);
  else if (*removed > 0)
    log_->info("retention: removed " + std::to_string(*removed) + " finished notification(s)");
}

bool DispatchService::announce(std::span<const FinalOutcome> finals, std::span<const std::string> request_ids) {
  if (!finals.empty() && !listener_->on_final(finals)) return false;  // the listener said why
  if (auto st = queue_.mark_announced(request_ids); !st) {
    // Handed on, but still noted: offered again later, which the listener takes as the same events.
    log_->warning("clearing " + std::to_string(request_ids.size()) + " announced outcome(s) failed: " + st.message());
    return false;
  }
  return true;
}

void DispatchService::announce_if_owed() {
  if (listener_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_announce_) return;
  // Cleared before looking, so that a worker's hand-off failing meanwhile sets it again and is not lost.
  if (!announce_owed_.exchange(false)) return;
  constexpr std::size_t kSlice = 200;
  std::size_t offered = 0;
  bool ok = true;
  for (;;) {
    auto ids = queue_.unannounced_ids(kSlice);
    if (!ids) {
      log_->warning("reading unannounced outcomes failed: " + ids.error().message);
      ok = false;
      break;
    }
    if (ids->empty()) break;
    std::vector<FinalOutcome> finals;
    for (const auto& id : *ids) {
      auto record = queue_.status(id);
      if (!record) {
        log_->warning("reading unannounced outcome " + id + " failed: " + record.error().message);
        ok = false;
        break;
      }
      // Gone (purged after retention), or retried by an operator since (announced when it is final again): only the
      // note is cleared.
      if (!*record || (*record)->state == delivery::State::queued || (*record)->state == delivery::State::in_flight)
        continue;
      finals.push_back(final_outcome_of(**record));
    }
    if (!ok) break;
    if (!announce(finals, *ids)) {
      ok = false;
      break;
    }
    offered += finals.size();
    if (ids->size() < kSlice) break;
  }
  if (offered > 0) {
    log_->info("offered " + std::to_string(offered) +
               " final outcome(s) stored but not yet announced to the callbacks");
  }
  if (ok) {
    announce_backoff_.reset();
  } else {
    announce_owed_ = true;
    next_announce_ = now + announce_backoff_.next();
  }
}

bool DispatchService::dispatch_once() {
  if (!link_.connected()) return false;  // leases would only expire; wait for the link
  auto leased = queue_.lease(options_.batch_size);
  if (!leased) {
    log_->error("queue lease failed: " + leased.error().message);
    return false;
  }
  if (leased->empty()) return false;
  if (leased->size() >= options_.batch_size) wake();  // more is probably due: put another worker on it
  InFlight flight;
  flight.batch.reserve(leased->size());
  for (auto& l : *leased) {
    flight.batch.push_back(std::move(l.notification));
    flight.accepted_ms.push_back(l.accepted_ms);
    flight.attempts_before.push_back(l.attempts);
    flight.invalid_before.push_back(std::move(l.invalid_tokens));
  }
  flight.recorded.assign(flight.batch.size(), false);
  // Results the enclave reports before its reply are stored as they come: an enclave that dies mid-batch then leaves
  // only what was still at the provider to be sent again.
  auto results = link_.deliver(flight.batch, [&](std::span<const link::PartResult> part) {
    std::vector<std::pair<std::size_t, DeliveryResult>> some;
    some.reserve(part.size());
    for (const auto& p : part) some.emplace_back(p.index, p.result);
    record(flight, some);
  });
  if (!results) {
    ++metrics_.link_failures;
    log_->warning("delivering " + std::to_string(flight.batch.size()) + " notification(s) failed on the link (" +
                  results.error().message + "); those without a result go back to the queue with backoff");
  }
  std::vector<std::pair<std::size_t, DeliveryResult>> rest;
  for (std::size_t i = 0; i < flight.batch.size(); ++i) {
    rest.emplace_back(i, results ? (*results)[i] : DeliveryResult::retryable("link: " + results.error().message));
  }
  record(flight, rest);
  return true;
}

void DispatchService::record(InFlight& flight, std::span<const std::pair<std::size_t, DeliveryResult>> results) {
  std::vector<std::size_t> index;  // into flight.batch, of the results recorded now
  std::vector<std::pair<std::string, DeliveryResult>> outcomes;
  for (const auto& [i, r] : results) {
    if (i >= flight.batch.size() || flight.recorded[i]) continue;  // reported in a part already (or twice)
    flight.recorded[i] = true;
    index.push_back(i);
    outcomes.emplace_back(flight.batch[i].request_id, r);
  }
  if (outcomes.empty()) return;
  auto states = queue_.complete_batch(outcomes);
  if (!states) {
    // The leases expire and these are sent again: at least once, never lost; the enclave's dedup absorbs it.
    log_->error("recording the results of " + std::to_string(outcomes.size()) +
                " notification(s) failed: " + states.error().message);
    return;
  }
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::vector<FinalOutcome> finals;
  for (std::size_t k = 0; k < outcomes.size(); ++k) {
    const auto i = index[k];
    const auto& [id, r] = outcomes[k];
    const auto state = (*states)[k];
    const auto& sent = flight.batch[i];
    // Only tokens this lease carried are reported here: each token is sent until it is final, so each invalid one is
    // counted once (a lease lost and re-sent is answered from the enclave's memory, after the first was recorded).
    auto& invalid = flight.invalid_before[i];
    for (const auto& t : r.tokens) {
      if (t.outcome != TokenOutcome::invalid_token) continue;
      if (std::find(sent.device_tokens.begin(), sent.device_tokens.end(), t.token) == sent.device_tokens.end())
        continue;
      ++metrics_.invalid_tokens;
      invalid.push_back(t.token);
    }
    if (listener_ != nullptr &&
        (state == delivery::State::delivered || state == delivery::State::rejected || state == delivery::State::dead)) {
      finals.push_back(
          {id, state, flight.attempts_before[i] + 1, r.reference, r.reason, sent.provider, std::move(invalid)});
    }
    if (r.outcome != Outcome::retryable && flight.accepted_ms[i] > 0) {
      metrics_.observe_latency(std::chrono::milliseconds(now_ms - flight.accepted_ms[i]));
    }
    switch (state) {
      case delivery::State::delivered:
        ++metrics_.delivered;
        break;
      case delivery::State::rejected:
        ++metrics_.rejected;
        break;
      case delivery::State::dead:
        ++metrics_.dead;
        log_->warning("notification " + id + " is dead (its attempts are used up): " + r.reason);
        break;
      default:
        ++metrics_.retried;
        break;
    }
  }
  // After the queue's commit, which noted these outcomes as unannounced: a crash before the listener has them, or a
  // failed hand-off, leaves the notes, and announce_if_owed() offers them again.
  if (!finals.empty()) {
    std::vector<std::string> ids;
    ids.reserve(finals.size());
    for (const auto& f : finals) ids.push_back(f.request_id);
    if (!announce(finals, ids)) announce_owed_ = true;
  }
}

}  // namespace notify::services
