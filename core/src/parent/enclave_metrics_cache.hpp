#pragma once
// The enclave's metrics as the parent last fetched them over the link, ready for the parent's /metrics: every series
// gains source="enclave" and node="<the enclave's node>", and notify_enclave_up says whether they are current. A
// snapshot older than `stale_after` (or a failed fetch) is not shown at all, so a dashboard sees a gap rather than a
// flat line that looks like an idle enclave.

#include <prometheus/metric_family.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace notify::services {

class EnclaveMetricsCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit EnclaveMetricsCache(std::chrono::milliseconds stale_after) : stale_after_(stale_after) {}

  void fetched(std::string node, std::vector<prometheus::MetricFamily> families, Clock::time_point now);
  void failed();

  /// notify_enclave_up, and the enclave's families (labelled) when current at `now`.
  [[nodiscard]] std::vector<prometheus::MetricFamily> exposition(Clock::time_point now) const;

 private:
  std::chrono::milliseconds stale_after_;
  mutable std::mutex mu_;
  std::string node_;
  std::vector<prometheus::MetricFamily> families_;
  Clock::time_point at_{};
  bool ok_ = false;
};

}  // namespace notify::services
