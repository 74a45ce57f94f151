#include "runtime/metrics/instance_metrics.hpp"

#include "runtime/metrics/host_metrics.hpp"

#include <limits>

namespace notify::metrics {
namespace {

std::size_t slot_of(int status) {
  if (status == 0) return 0;
  if (status >= 100 && status <= 599) return static_cast<std::size_t>(status - 99);
  return 501;
}

}  // namespace

InstanceMetrics::InstanceMetrics(const ProviderFamilies& families, std::string instance)
    : families_(families),
      instance_(std::move(instance)),
      call_seconds_(families_.call_seconds.Add(
          {{"provider", instance_}}, prometheus::Histogram::BucketBoundaries(HostMetrics::call_duration_buckets()))),
      retries_(families_.retries.Add({{"provider", instance_}})),
      throttled_(families_.throttled.Add({{"provider", instance_}})),
      throttled_seconds_(families_.throttled_seconds.Add({{"provider", instance_}})),
      rate_limit_remaining_(families_.rate_limit_remaining.Add({{"provider", instance_}})) {
  // Unknown until the service says: NaN, which Prometheus shows as such rather than a misleading 0.
  rate_limit_remaining_.Set(std::numeric_limits<double>::quiet_NaN());
}

std::string InstanceMetrics::status_label(int status) {
  if (status == 0) return "error";
  if (status < 100 || status > 599) return "other";
  // The statuses the providers' APIs document (Braze, FCM, APNs, Standard Webhooks receivers) keep their own series;
  // any other falls into its class. A service answering arbitrary statuses then adds at most five series, and the
  // enclave's page stays far inside the 1,000 series the parent accepts from it.
  static constexpr int kNamed[] = {200, 201, 202, 204, 400, 401, 403, 404, 405, 408,
                                   409, 410, 413, 422, 429, 500, 502, 503, 504};
  for (const int named : kNamed) {
    if (status == named) return std::to_string(status);
  }
  return std::to_string(status / 100) + "xx";
}

prometheus::Counter& InstanceMetrics::calls_for(int status) {
  auto& slot = calls_[slot_of(status)];
  if (auto* c = slot.load(std::memory_order_acquire)) return *c;
  std::lock_guard lock(add_mu_);
  if (auto* c = slot.load(std::memory_order_relaxed)) return *c;
  auto& made = families_.calls.Add({{"provider", instance_}, {"status", status_label(status)}});
  slot.store(&made, std::memory_order_release);
  return made;
}

void InstanceMetrics::call_finished(int status, std::chrono::microseconds latency) noexcept {
  try {
    calls_for(status).Increment();
    call_seconds_.Observe(std::chrono::duration<double>(latency).count());
  } catch (...) {  // metrics never fail a delivery (Add allocates)
  }
}

void InstanceMetrics::retry_scheduled() noexcept { retries_.Increment(); }

void InstanceMetrics::throttled(std::chrono::milliseconds waited) noexcept {
  throttled_.Increment();
  throttled_seconds_.Increment(std::chrono::duration<double>(waited).count());
}

void InstanceMetrics::rate_limit_remaining(std::int64_t remaining) noexcept {
  rate_limit_remaining_.Set(static_cast<double>(remaining));
}

}  // namespace notify::metrics
