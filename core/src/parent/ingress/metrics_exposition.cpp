#include "parent/ingress/metrics_exposition.hpp"

#include <prometheus/text_serializer.h>

#include <limits>
#include <map>

namespace notify::services::exposition {
namespace {

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

// A family of one unlabelled series.
prometheus::MetricFamily single(std::string name, std::string help, prometheus::MetricType type, double value) {
  auto f = family(std::move(name), std::move(help), type);
  prometheus::ClientMetric m;
  (type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value) = value;
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

prometheus::MetricFamily counter(std::string name, std::string help, double value) {
  return single(std::move(name), std::move(help), prometheus::MetricType::Counter, value);
}

prometheus::MetricFamily gauge(std::string name, std::string help, double value) {
  return single(std::move(name), std::move(help), prometheus::MetricType::Gauge, value);
}

prometheus::MetricFamily histogram(std::string name, std::string help, std::span<const double> bounds,
                                   std::span<const std::uint64_t> cumulative, std::uint64_t count, double sum) {
  auto f = family(std::move(name), std::move(help), prometheus::MetricType::Histogram);
  prometheus::ClientMetric m;
  m.histogram.sample_count = count;
  m.histogram.sample_sum = sum;
  for (std::size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i)
    m.histogram.bucket.push_back({cumulative[i], bounds[i]});
  m.histogram.bucket.push_back({count, std::numeric_limits<double>::infinity()});
  f.metric.push_back(std::move(m));
  return f;
}

std::string text(std::vector<prometheus::MetricFamily> families) {
  std::vector<prometheus::MetricFamily> merged;
  std::map<std::string, std::size_t> index;
  for (auto& f : families) {
    auto [it, fresh] = index.emplace(f.name, merged.size());
    if (fresh) {
      merged.push_back(std::move(f));
      continue;
    }
    auto& into = merged[it->second];
    if (into.type != f.type) continue;
    into.metric.insert(into.metric.end(), std::make_move_iterator(f.metric.begin()),
                       std::make_move_iterator(f.metric.end()));
  }
  return prometheus::TextSerializer().Serialize(merged);
}

}  // namespace notify::services::exposition
