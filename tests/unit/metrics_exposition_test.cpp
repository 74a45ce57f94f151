// The parent's /metrics body: prometheus-cpp's text format, one family per name even when the parent's own series
// and the enclave's share a name, and a family of a clashing type left out rather than a body Prometheus refuses.
#include "parent/ingress/metrics_exposition.hpp"
#include "parent/enclave_metrics_cache.hpp"

#include <gtest/gtest.h>

using namespace notify::services;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST(MetricsExposition, OneFamilyPerNameWithEverySeries) {
  auto a = exposition::counter("notify_provider_calls_total", "calls", 2);
  a.metric[0].label = {{"provider", "log"}};
  auto b = exposition::counter("notify_provider_calls_total", "calls", 5);
  b.metric[0].label = {{"provider", "braze"}, {"source", "enclave"}};
  auto clash = exposition::gauge("notify_provider_calls_total", "a gauge of the same name", 9);
  const auto text = exposition::text({a, b, clash, exposition::gauge("notify_queue_depth", "depth", 7)});
  EXPECT_EQ(count(text, "# TYPE notify_provider_calls_total counter"), 1u) << text;
  EXPECT_NE(text.find("notify_provider_calls_total{provider=\"log\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("notify_provider_calls_total{provider=\"braze\",source=\"enclave\"} 5"), std::string::npos)
      << text;
  EXPECT_EQ(text.find(" 9"), std::string::npos) << "the clashing gauge is left out\n" << text;
  EXPECT_NE(text.find("notify_queue_depth 7"), std::string::npos) << text;
}

TEST(MetricsExposition, HistogramHasCumulativeBucketsAndInf) {
  const double bounds[] = {0.1, 1};
  const std::uint64_t cumulative[] = {1, 3};
  const auto text = exposition::text(
      {exposition::histogram("notify_delivery_latency_seconds", "latency", bounds, cumulative, 4, 12.5)});
  EXPECT_NE(text.find("notify_delivery_latency_seconds_bucket{le=\"0.1\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("notify_delivery_latency_seconds_bucket{le=\"1\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("notify_delivery_latency_seconds_bucket{le=\"+Inf\"} 4"), std::string::npos) << text;
  EXPECT_NE(text.find("notify_delivery_latency_seconds_count 4"), std::string::npos) << text;
  EXPECT_NE(text.find("notify_delivery_latency_seconds_sum 12.5"), std::string::npos) << text;
}

TEST(EnclaveMetricsCache, LabelsTheEnclavesSeriesAndHidesThemWhenStaleOrFailed) {
  using Clock = EnclaveMetricsCache::Clock;
  EnclaveMetricsCache cache(std::chrono::seconds(3));
  const auto t0 = Clock::now();
  auto up = [&](Clock::time_point at) {
    const auto fs = cache.exposition(at);
    EXPECT_EQ(fs.at(0).name, "notify_enclave_up");
    return std::make_pair(fs.at(0).metric.at(0).gauge.value, fs.size());
  };
  EXPECT_EQ(up(t0), std::make_pair(0.0, std::size_t{1})) << "never fetched: down, nothing else";
  cache.fetched("enclave-1", {exposition::counter("notify_enclave_dedup_hits_total", "hits", 4)}, t0);
  EXPECT_EQ(up(t0 + std::chrono::seconds(1)), std::make_pair(1.0, std::size_t{2}));
  const auto fs = cache.exposition(t0);
  const auto& labels = fs.at(1).metric.at(0).label;
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0].name, "node");
  EXPECT_EQ(labels[0].value, "enclave-1");
  EXPECT_EQ(labels[1].name, "source");
  EXPECT_EQ(labels[1].value, "enclave");
  EXPECT_EQ(up(t0 + std::chrono::seconds(4)), std::make_pair(0.0, std::size_t{1})) << "stale";
  cache.failed();
  EXPECT_EQ(up(t0), std::make_pair(0.0, std::size_t{1})) << "failed";
}
