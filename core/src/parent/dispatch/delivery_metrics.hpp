#pragma once
// Counters of the parent's delivery pipeline, rendered by the ingress as Prometheus text.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace notify::services {

struct DeliveryMetrics {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> retried{0};
  std::atomic<std::uint64_t> dead{0};
  std::atomic<std::uint64_t> link_failures{0};
  std::atomic<std::uint64_t> invalid_tokens{0};  // device tokens a provider reported invalid

  /// Delivery callbacks (callbacks:); rendered only when the section is configured.
  std::atomic<bool> callbacks_enabled{false};
  std::atomic<std::uint64_t> callbacks_sent{0};     // events the receiver acknowledged (2xx)
  std::atomic<std::uint64_t> callbacks_failed{0};   // attempts that got no 2xx (each is retried, or given up)
  std::atomic<std::uint64_t> callbacks_dropped{0};  // events given up after callbacks.max_attempts
  std::atomic<std::uint64_t> callbacks_pending{0};  // events in the outbox (a gauge)

  /// Accept → final outcome latency, Prometheus-style cumulative buckets (seconds).
  static constexpr std::array<double, 10> kBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 300};
  std::array<std::atomic<std::uint64_t>, kBuckets.size()> latency_buckets{};
  std::atomic<std::uint64_t> latency_count{0};
  std::atomic<std::uint64_t> latency_sum_ms{0};

  void observe_latency(std::chrono::milliseconds latency) {
    const double seconds = static_cast<double>(latency.count()) / 1000.0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      if (seconds <= kBuckets[i]) ++latency_buckets[i];
    }
    ++latency_count;
    latency_sum_ms += static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency.count()));
  }
};

}  // namespace notify::services
