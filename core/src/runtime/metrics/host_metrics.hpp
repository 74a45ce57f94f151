#pragma once
// One host's own metrics, in a prometheus-cpp registry: what its provider plugins report (ProviderMetrics, one per
// instance, labelled `provider`) and what the enclave's core counts (results, dedup hits, attestations). Nothing here
// listens: an enclave hands collect() to the parent over the link (metrics_request), which exposes it on /metrics
// with source="enclave"; a parent puts its own next to its delivery counters.

#include <notify/metrics.hpp>
#include <notify/notification.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace notify::metrics {

class HostMetrics {
 public:
  HostMetrics();
  HostMetrics(const HostMetrics&) = delete;
  HostMetrics& operator=(const HostMetrics&) = delete;

  /// The series of provider instance `instance`, for its PluginContext. Lives as long as this object.
  std::shared_ptr<ProviderMetrics> for_provider(const std::string& instance);
  /// For a transport's PluginContext: reports are dropped, so that no `provider="tcp"` series appears.
  static std::shared_ptr<ProviderMetrics> discarding();

  /// Makes the series of provider instance `instance` that the enclave counts (results by outcome) exist at 0, so a
  /// dashboard's rate() sees 0 rather than no data before the first notification.
  void provider_instance(std::string_view instance);
  /// A result the enclave answered for one notification (notify_enclave_notifications_total{provider,outcome}).
  void notification_result(std::string_view provider, Outcome outcome);
  /// A notification answered without a provider call: `remembered` (already finished) or `in_flight` (waited for the
  /// delivery already at the provider) — notify_enclave_dedup_hits_total{kind}.
  void dedup_hit(std::string_view kind, std::uint64_t count = 1);
  /// An attestation document the enclave produced (`ok`) or failed to (`error`), for the parent's attest request
  /// (`link`) or a KMS Recipient (`kms`): notify_enclave_attestations_total{purpose,result}.
  void attestation(std::string_view purpose, bool ok);

  /// Every series now, in prometheus-cpp's model (families without a series are left out).
  [[nodiscard]] std::vector<prometheus::MetricFamily> collect() const;

  /// Buckets of notify_provider_call_duration_seconds, in seconds.
  static const std::vector<double>& call_duration_buckets();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Histogram>& call_seconds_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Counter>& throttled_;
  prometheus::Family<prometheus::Counter>& throttled_seconds_;
  prometheus::Family<prometheus::Gauge>& rate_limit_remaining_;
  prometheus::Family<prometheus::Counter>& results_;
  prometheus::Family<prometheus::Counter>& dedup_hits_;
  prometheus::Family<prometheus::Counter>& attestations_;
};

}  // namespace notify::metrics
