#include "parent/enclave_metrics_cache.hpp"

namespace notify::services {

void EnclaveMetricsCache::fetched(std::string node, std::vector<prometheus::MetricFamily> families,
                                  Clock::time_point now) {
  for (auto& f : families) {
    for (auto& m : f.metric) {
      m.label.push_back({"node", node});
      m.label.push_back({"source", "enclave"});
    }
  }
  std::lock_guard lock(mu_);
  node_ = std::move(node);
  families_ = std::move(families);
  at_ = now;
  ok_ = true;
}

void EnclaveMetricsCache::failed() {
  std::lock_guard lock(mu_);
  ok_ = false;
  families_.clear();
}

std::vector<prometheus::MetricFamily> EnclaveMetricsCache::exposition(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  const bool up = ok_ && now - at_ <= stale_after_;
  std::vector<prometheus::MetricFamily> out;
  prometheus::MetricFamily up_family;
  up_family.name = "notify_enclave_up";
  up_family.help = "1 when the enclave answered the parent's last metrics fetch (forward.enclave_metrics) in time";
  up_family.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric m;
  m.gauge.value = up ? 1 : 0;
  up_family.metric.push_back(std::move(m));
  out.push_back(std::move(up_family));
  if (up) out.insert(out.end(), families_.begin(), families_.end());
  return out;
}

}  // namespace notify::services
