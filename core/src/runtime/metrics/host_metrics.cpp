#include "runtime/metrics/host_metrics.hpp"

#include "runtime/metrics/instance_metrics.hpp"

#include <algorithm>

namespace notify::metrics {

HostMetrics::HostMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      calls_(prometheus::BuildCounter()
                 .Name("notify_provider_calls_total")
                 .Help("HTTP requests to the provider's service, by HTTP status (error: none came back)")
                 .Register(*registry_)),
      call_seconds_(prometheus::BuildHistogram()
                        .Name("notify_provider_call_duration_seconds")
                        .Help("time from sending a request to the provider's service to its answer")
                        .Register(*registry_)),
      retries_(prometheus::BuildCounter()
                   .Name("notify_provider_retries_total")
                   .Help("calls the provider plugin sent again after a retryable answer")
                   .Register(*registry_)),
      throttled_(prometheus::BuildCounter()
                     .Name("notify_provider_throttled_total")
                     .Help("calls the plugin's own rate limiter held back")
                     .Register(*registry_)),
      throttled_seconds_(prometheus::BuildCounter()
                             .Name("notify_provider_throttled_seconds_total")
                             .Help("time calls waited for the plugin's own rate limiter")
                             .Register(*registry_)),
      rate_limit_remaining_(prometheus::BuildGauge()
                                .Name("notify_provider_rate_limit_remaining")
                                .Help("requests left in the service's rate-limit window, as it last said")
                                .Register(*registry_)),
      results_(prometheus::BuildCounter()
                   .Name("notify_enclave_notifications_total")
                   .Help("results the enclave answered, by provider instance and outcome")
                   .Register(*registry_)),
      dedup_hits_(prometheus::BuildCounter()
                      .Name("notify_enclave_dedup_hits_total")
                      .Help("notifications answered without a provider call: remembered, or in_flight elsewhere")
                      .Register(*registry_)),
      attestations_(
          prometheus::BuildCounter()
              .Name("notify_enclave_attestations_total")
              .Help("attestation documents produced (ok) or failed (error), for the parent (link) or KMS (kms)")
              .Register(*registry_)) {
  // Series that exist from the start, at 0: "nothing happened" is then a value, not an absent series.
  for (const char* kind : {"remembered", "in_flight"}) dedup_hits_.Add({{"kind", kind}});
  for (const char* purpose : {"link", "kms"}) {
    for (const char* result : {"ok", "error"}) attestations_.Add({{"purpose", purpose}, {"result", result}});
  }
}

std::shared_ptr<ProviderMetrics> HostMetrics::discarding() {
  class Discarding final : public ProviderMetrics {
    void call_finished(int, std::chrono::microseconds) noexcept override {}
    void retry_scheduled() noexcept override {}
    void throttled(std::chrono::milliseconds) noexcept override {}
    void rate_limit_remaining(std::int64_t) noexcept override {}
  };
  return std::make_shared<Discarding>();
}

void HostMetrics::provider_instance(std::string_view instance) {
  for (const auto o : {Outcome::delivered, Outcome::rejected, Outcome::retryable})
    results_.Add({{"provider", std::string(instance)}, {"outcome", outcome_name(o)}});
}

const std::vector<double>& HostMetrics::call_duration_buckets() {
  static const std::vector<double> buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return buckets;
}

std::shared_ptr<ProviderMetrics> HostMetrics::for_provider(const std::string& instance) {
  const ProviderFamilies families{calls_,     call_seconds_,      retries_,
                                  throttled_, throttled_seconds_, rate_limit_remaining_};
  return std::make_shared<InstanceMetrics>(families, instance);
}

void HostMetrics::notification_result(std::string_view provider, Outcome outcome) {
  results_.Add({{"provider", std::string(provider)}, {"outcome", outcome_name(outcome)}}).Increment();
}

void HostMetrics::dedup_hit(std::string_view kind, std::uint64_t count) {
  dedup_hits_.Add({{"kind", std::string(kind)}}).Increment(static_cast<double>(count));
}

void HostMetrics::attestation(std::string_view purpose, bool ok) {
  attestations_.Add({{"purpose", std::string(purpose)}, {"result", ok ? "ok" : "error"}}).Increment();
}

std::vector<prometheus::MetricFamily> HostMetrics::collect() const {
  auto families = registry_->Collect();
  std::erase_if(families, [](const prometheus::MetricFamily& f) { return f.metric.empty(); });
  return families;
}

}  // namespace notify::metrics
