#pragma once
// The enclave's memory of request_ids: final results, bounded in size (least recently used evicted first) and in age
// (TTL), and the ones a worker is delivering right now. A delivery re-sent after a lost acknowledgement is answered
// from here instead of a second provider call; one that arrives while the first is still at the provider (the parent
// timed out and sent it again) waits for that first call's result instead of making another (find-or-claim). It
// lives in memory only: an enclave restart forgets it (see the README's delivery guarantees).

#include <notify/notification.hpp>
#include <notify/toolkit/clock.hpp>

#include <chrono>
#include <condition_variable>
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

  /// What claim() found.
  enum class ClaimState {
    claimed,  ///< nobody had it: the caller delivers it and must settle() it
    known,    ///< a final result was remembered: `result`, no delivery
    joined,   ///< another caller was delivering it: `result` is that call's outcome, whatever it was
    busy,     ///< another caller is still delivering it at `deadline`: the caller must not deliver it too
  };
  struct Claim {
    ClaimState state = ClaimState::claimed;
    std::optional<DeliveryResult> result;
  };
  /// Find-or-claim, atomically: a remembered result, or the result of a delivery in progress (waited for until
  /// `deadline`, a steady_clock time; a deadline already passed only tries), or the claim. Never two claims on one
  /// request_id at once. A caller holding claims of its own must not wait (try, settle its own, then wait): two
  /// callers each waiting for the other's claim would wait until their deadlines.
  Claim claim(const std::string& request_id, std::chrono::steady_clock::time_point deadline);
  /// Ends the caller's claim with the provider's result: final ones are remembered, every waiter gets it.
  void settle(const std::string& request_id, const DeliveryResult& result);
  /// Request_ids being delivered right now, and callers waiting for one of them.
  [[nodiscard]] std::size_t in_flight() const;
  [[nodiscard]] std::size_t waiting() const;

 private:
  struct Entry {
    std::string id;
    DeliveryResult result;
    std::chrono::steady_clock::time_point expires;
  };
  struct InFlight {
    std::condition_variable done_cv;  // one per request_id: settling wakes only its own waiters
    bool done = false;
    DeliveryResult result;
  };
  std::optional<DeliveryResult> find_locked(const std::string& request_id);
  void remember_locked(const std::string& request_id, const DeliveryResult& result);

  std::size_t capacity_;
  std::chrono::milliseconds ttl_;
  std::shared_ptr<const toolkit::Clock> clock_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::unordered_map<std::string, std::shared_ptr<InFlight>> in_flight_;
  std::size_t waiting_ = 0;
};

}  // namespace notify::delivery
