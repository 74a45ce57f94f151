// The enclave's metrics on the link (protocol 2.2): what the enclave's registry collects comes out of the parent's
// decoder equal, and a reply the parent must not expose — labels it adds itself, bad names, broken histograms,
// more series than the bound — is refused with the place named.
#include "link/messages.hpp"
#include "runtime/metrics/host_metrics.hpp"
#include "runtime/metrics/instance_metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

using namespace notify;
using namespace notify::link;

namespace {

const prometheus::MetricFamily* find(const std::vector<prometheus::MetricFamily>& fs, const std::string& name) {
  for (const auto& f : fs)
    if (f.name == name) return &f;
  return nullptr;
}

std::string label(const prometheus::ClientMetric& m, const std::string& name) {
  for (const auto& l : m.label)
    if (l.name == name) return l.value;
  return {};
}

}  // namespace

TEST(MetricsCodec, WhatTheRegistryCollectsRoundTripsThroughTheLink) {
  metrics::HostMetrics host;
  auto braze = host.for_provider("braze");
  braze->call_finished(201, std::chrono::milliseconds(40));
  braze->call_finished(429, std::chrono::milliseconds(3));
  braze->call_finished(0, std::chrono::seconds(31));
  braze->retry_scheduled();
  braze->throttled(std::chrono::milliseconds(1500));
  host.notification_result("braze", Outcome::delivered);
  host.dedup_hit("remembered", 3);

  const auto sent = host.collect();
  auto got = decode_metrics_reply(encode_metrics_reply(sent));
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), sent.size());

  const auto* calls = find(*got, "notify_provider_calls_total");
  ASSERT_NE(calls, nullptr);
  EXPECT_EQ(calls->type, prometheus::MetricType::Counter);
  std::map<std::string, double> by_status;
  for (const auto& m : calls->metric) {
    EXPECT_EQ(label(m, "provider"), "braze");
    by_status[label(m, "status")] = m.counter.value;
  }
  EXPECT_EQ(by_status, (std::map<std::string, double>{{"201", 1}, {"429", 1}, {"error", 1}}));

  const auto* seconds = find(*got, "notify_provider_call_duration_seconds");
  ASSERT_NE(seconds, nullptr);
  ASSERT_EQ(seconds->metric.size(), 1u);
  const auto& h = seconds->metric[0].histogram;
  EXPECT_EQ(h.sample_count, 3u);
  EXPECT_NEAR(h.sample_sum, 31.043, 1e-6);
  ASSERT_EQ(h.bucket.size(), metrics::HostMetrics::call_duration_buckets().size() + 1);
  EXPECT_TRUE(std::isinf(h.bucket.back().upper_bound));
  EXPECT_EQ(h.bucket.back().cumulative_count, 3u);
  EXPECT_EQ(h.bucket[2].upper_bound, 0.025);
  EXPECT_EQ(h.bucket[2].cumulative_count, 1u) << "3 ms";
  EXPECT_EQ(h.bucket[3].upper_bound, 0.05);
  EXPECT_EQ(h.bucket[3].cumulative_count, 2u) << "3 ms and 40 ms";
  EXPECT_EQ(h.bucket[h.bucket.size() - 2].cumulative_count, 2u) << "31 s is past the last bound (30 s)";

  // Before the service ever said, the remaining rate limit is unknown: NaN crosses as such.
  const auto* remaining = find(*got, "notify_provider_rate_limit_remaining");
  ASSERT_NE(remaining, nullptr);
  EXPECT_TRUE(std::isnan(remaining->metric.at(0).gauge.value));
  const auto* throttled = find(*got, "notify_provider_throttled_seconds_total");
  ASSERT_NE(throttled, nullptr);
  EXPECT_DOUBLE_EQ(throttled->metric.at(0).counter.value, 1.5);
  const auto* dedup = find(*got, "notify_enclave_dedup_hits_total");
  ASSERT_NE(dedup, nullptr);
  std::map<std::string, double> by_kind;
  for (const auto& m : dedup->metric) by_kind[label(m, "kind")] = m.counter.value;
  EXPECT_EQ(by_kind, (std::map<std::string, double>{{"in_flight", 0}, {"remembered", 3}}))
      << "both kinds exist from the start";
}

TEST(MetricsCodec, StatusLabelsStayBounded) {
  using metrics::InstanceMetrics;
  EXPECT_EQ(InstanceMetrics::status_label(0), "error");
  EXPECT_EQ(InstanceMetrics::status_label(503), "503");
  EXPECT_EQ(InstanceMetrics::status_label(99), "other");
  EXPECT_EQ(InstanceMetrics::status_label(600), "other");
  EXPECT_EQ(InstanceMetrics::status_label(-1), "other");
  EXPECT_EQ(InstanceMetrics::status_label(429), "429");
  EXPECT_EQ(InstanceMetrics::status_label(201), "201");
  EXPECT_EQ(InstanceMetrics::status_label(418), "4xx");
  EXPECT_EQ(InstanceMetrics::status_label(299), "2xx");
  EXPECT_EQ(InstanceMetrics::status_label(599), "5xx");
  // However a service answers, one provider's calls are at most 26 series (the parent takes 1,000 from an enclave).
  std::set<std::string> labels;
  for (int status = -5; status < 1000; ++status) labels.insert(InstanceMetrics::status_label(status));
  EXPECT_LE(labels.size(), 26u);
}

TEST(MetricsCodec, RefusesWhatTheParentMustNotExposeNamingThePlace) {
  auto refused = [](const std::string& json) {
    auto r = decode_metrics_reply(json);
    return r.ok() ? std::string("accepted") : r.error().message;
  };
  const std::string family = R"({"name":"notify_x_total","help":"h","type":"counter","metrics":[)";
  EXPECT_NE(refused(R"({"families":[)" + family + R"({"labels":{"source":"parent"},"value":1}]}]})")
                .find("families[0].metrics[0].labels.source"),
            std::string::npos);
  EXPECT_NE(refused(R"({"families":[)" + family + R"({"labels":{"node":"x"},"value":1}]}]})").find("labels.node"),
            std::string::npos);
  EXPECT_NE(
      refused(R"({"families":[{"name":"bad name","help":"","type":"counter","metrics":[]}]})").find("families[0].name"),
      std::string::npos);
  EXPECT_NE(refused(R"({"families":[{"name":"x","help":"","type":"summary","metrics":[]}]})").find("families[0].type"),
            std::string::npos);
  EXPECT_NE(refused(R"({"families":[)" + family + R"({"labels":{},"value":"lots"}]}]})").find("metrics[0].value"),
            std::string::npos);
  // Histogram buckets must rise, and their counts never fall nor pass the total.
  const std::string hist = R"({"families":[{"name":"h","help":"","type":"histogram","metrics":[{"labels":{},)";
  EXPECT_NE(refused(hist + R"("count":2,"sum":1,"buckets":[[0.1,2],[0.5,1]]}]}]})").find("buckets[1]"),
            std::string::npos);
  EXPECT_NE(refused(hist + R"("count":2,"sum":1,"buckets":[[0.5,1],[0.1,1]]}]}]})").find("buckets[1]"),
            std::string::npos);
  EXPECT_NE(refused(hist + R"("count":2,"sum":1,"buckets":[[0.1,3]]}]}]})").find("buckets[0]"), std::string::npos);
  EXPECT_EQ(refused(hist + R"("count":2,"sum":1,"buckets":[[0.1,1],[0.5,2]]}]}]})"), "accepted");
}

TEST(MetricsCodec, MoreSeriesThanTheBoundAreRefused) {
  std::vector<prometheus::MetricFamily> many(1);
  many[0].name = "notify_many_total";
  many[0].type = prometheus::MetricType::Counter;
  for (std::size_t i = 0; i <= kMaxMetricSeries; ++i) {
    prometheus::ClientMetric m;
    m.label = {{"i", std::to_string(i)}};
    many[0].metric.push_back(m);
  }
  auto r = decode_metrics_reply(encode_metrics_reply(many));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::protocol_error);
}
