#pragma once
// Counters of the parent's delivery pipeline, rendered by the ingress as Prometheus text.

#include <atomic>
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
};

}  // namespace notify::services
