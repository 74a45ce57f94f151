#pragma once
// The enclave's memory of final results by request_id: bounded in size (least recently used evicted first) and in
// age (TTL). A delivery re-sent after a lost acknowledgement is answered from here instead of a second provider call.
// It lives in memory only: an enclave restart forgets it (see the README's delivery guarantees).

#include <notify/notification.hpp>
#include <notify/toolkit/clock.hpp>

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace notify::delivery {

class DedupCache {
 public:
  /// `clock` decides when an entry is older than `ttl` (its steady reading); tests pass a toolkit::ManualClock.
  DedupCache(std::size_t capacity, std::chrono::milliseconds ttl,
             std::shared_ptr<const toolkit::Clock> clock = toolkit::real_clock());

  [[nodiscard]] std::optional<DeliveryResult> find(const std::string& request_id);
  void remember(const std::string& request_id, const DeliveryResult& result);
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    std::string id;
    DeliveryResult result;
    std::chrono::steady_clock::time_point expires;
  };
  std::size_t capacity_;
  std::chrono::milliseconds ttl_;
  std::shared_ptr<const toolkit::Clock> clock_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace notify::delivery
