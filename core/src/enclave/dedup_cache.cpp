#include "enclave/dedup_cache.hpp"

namespace notify::delivery {

DedupCache::DedupCache(std::size_t capacity, std::chrono::milliseconds ttl, std::shared_ptr<const toolkit::Clock> clock)
    : capacity_(capacity == 0 ? 1 : capacity), ttl_(ttl), clock_(clock ? std::move(clock) : toolkit::real_clock()) {}

std::optional<DeliveryResult> DedupCache::find(const std::string& request_id) {
  std::lock_guard lock(mu_);
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

std::size_t DedupCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace notify::delivery
