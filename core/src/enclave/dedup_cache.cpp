#include "enclave/dedup_cache.hpp"

namespace notify::delivery {

DedupCache::DedupCache(std::size_t capacity, std::chrono::milliseconds ttl, std::shared_ptr<const toolkit::Clock> clock)
    : capacity_(capacity == 0 ? 1 : capacity), ttl_(ttl), clock_(clock ? std::move(clock) : toolkit::real_clock()) {}

std::optional<DeliveryResult> DedupCache::find(const std::string& request_id) {
  std::lock_guard lock(mu_);
  return find_locked(request_id);
}

std::optional<DeliveryResult> DedupCache::find_locked(const std::string& request_id) {
  auto it = index_.find(request_id);
  if (it == index_.end()) return std::nullopt;
  if (clock_->steady_now() >= it->second->expires) {
    lru_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->result;
}

void DedupCache::remember(const std::string& request_id, const DeliveryResult& result) {
  std::lock_guard lock(mu_);
  remember_locked(request_id, result);
}

void DedupCache::remember_locked(const std::string& request_id, const DeliveryResult& result) {
  const auto expires = clock_->steady_now() + ttl_;
  if (auto it = index_.find(request_id); it != index_.end()) {
    it->second->result = result;
    it->second->expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Entry{request_id, result, expires});
  index_[request_id] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().id);
    lru_.pop_back();
  }
}

DedupCache::Claim DedupCache::claim(const std::string& request_id, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (auto known = find_locked(request_id)) return {ClaimState::known, std::move(known)};
  auto it = in_flight_.find(request_id);
  if (it == in_flight_.end()) {
    in_flight_.emplace(request_id, std::make_shared<InFlight>());
    return {ClaimState::claimed, std::nullopt};
  }
  // Someone is at the provider with it: wait for their outcome (the entry outlives its erasure through the copy).
  const auto entry = it->second;
  if (deadline <= std::chrono::steady_clock::now()) return {ClaimState::busy, std::nullopt};  // a try, no wait
  ++waiting_;
  const bool done = entry->done_cv.wait_until(lock, deadline, [&] { return entry->done; });
  --waiting_;
  if (!done) return {ClaimState::busy, std::nullopt};
  return {ClaimState::joined, entry->result};
}

void DedupCache::settle(const std::string& request_id, const DeliveryResult& result) {
  std::lock_guard lock(mu_);
  if (result.outcome != Outcome::retryable) remember_locked(request_id, result);
  auto it = in_flight_.find(request_id);
  if (it == in_flight_.end()) return;
  it->second->done = true;
  it->second->result = result;
  it->second->done_cv.notify_all();
  in_flight_.erase(it);
}

std::size_t DedupCache::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_.size();
}

std::size_t DedupCache::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_;
}

std::size_t DedupCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace notify::delivery
