#pragma once
// A provider's results reported as they are decided (Provider::deliver_streaming): the retry loops of the push
// providers decide a notification when its last call has a final answer, often long before the batch ends (another
// notification may still be waiting for a backoff). Each decision is stored in the batch's result vector and reported
// to the sink once, in one report per flush().
//
// For one deliver's loop on one thread (the providers' loops are): not thread-safe.

#include <notify/notification.hpp>
#include <notify/provider.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace notify::toolkit {

class EarlyResults {
 public:
  /// `results`: the batch's result vector (outlives this). `sink`: null when the caller is deliver_by(): decisions
  /// are then only stored.
  EarlyResults(std::span<DeliveryResult> results, ResultSink* sink);
  EarlyResults(const EarlyResults&) = delete;
  EarlyResults& operator=(const EarlyResults&) = delete;

  /// Notification `i`'s result is final: stored, and reported at the next flush(). Once per index (a later call for
  /// the same index is ignored).
  void decide(std::size_t i, DeliveryResult result);
  [[nodiscard]] bool decided(std::size_t i) const { return i < decided_.size() && decided_[i]; }
  /// For a notification sent as several calls (one per device token): decides `i` as fold(i) once every call of it
  /// has a final answer (`is_final(call)`: answered, and not retryable), unless it is decided already.
  template <typename Calls, typename IsFinal, typename Fold>
  void decide_when_final(std::size_t i, const Calls& calls_of_i, IsFinal is_final, Fold fold) {
    if (decided(i)) return;
    for (const auto& c : calls_of_i) {
      if (!is_final(c)) return;
    }
    decide(i, fold(i));
  }
  /// Reports what was decided since the last flush, in one call to the sink.
  void flush() noexcept;

 private:
  std::span<DeliveryResult> results_;
  ResultSink* sink_;
  std::vector<bool> decided_;
  std::vector<std::size_t> unreported_;
};

}  // namespace notify::toolkit
