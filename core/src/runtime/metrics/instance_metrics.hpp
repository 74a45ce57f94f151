#pragma once
// The ProviderMetrics a plugin instance is handed: its series, made once with the instance's label, so that every
// report is an atomic add on a series it already holds (no label lookup on the delivery path).

#include <notify/metrics.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <array>
#include <atomic>
#include <mutex>
#include <string>

namespace notify::metrics {

struct ProviderFamilies {
  prometheus::Family<prometheus::Counter>& calls;  // {provider, status}
  prometheus::Family<prometheus::Histogram>& call_seconds;
  prometheus::Family<prometheus::Counter>& retries;
  prometheus::Family<prometheus::Counter>& throttled;
  prometheus::Family<prometheus::Counter>& throttled_seconds;
  prometheus::Family<prometheus::Gauge>& rate_limit_remaining;
};

class InstanceMetrics final : public ProviderMetrics {
 public:
  InstanceMetrics(const ProviderFamilies& families, std::string instance);

  void call_finished(int status, std::chrono::microseconds latency) noexcept override;
  void retry_scheduled() noexcept override;
  void throttled(std::chrono::milliseconds waited) noexcept override;
  void rate_limit_remaining(std::int64_t remaining) noexcept override;

  /// The `status` label of an HTTP status: the statuses the providers document as themselves ("200", "429", "503"...),
  /// any other by its class ("4xx"); "error" when none came back; "other" outside 100–599. At most 26 values.
  static std::string status_label(int status);

 private:
  prometheus::Counter& calls_for(int status);

  ProviderFamilies families_;
  std::string instance_;
  prometheus::Histogram& call_seconds_;
  prometheus::Counter& retries_;
  prometheus::Counter& throttled_;
  prometheus::Counter& throttled_seconds_;
  prometheus::Gauge& rate_limit_remaining_;
  // One slot per status label (index 0: "error", 1..500: 100..599, 501: "other"), filled on first use.
  static constexpr std::size_t kSlots = 502;
  std::array<std::atomic<prometheus::Counter*>, kSlots> calls_{};
  std::mutex add_mu_;  // serialises the first use of a slot
};

}  // namespace notify::metrics
