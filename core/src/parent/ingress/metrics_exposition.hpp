#pragma once
// The parent's /metrics body: its own counters, plus whatever else the host adds (the enclave's series, its plugins'),
// as prometheus-cpp families serialised by prometheus-cpp's text serialiser (exposition format 0.0.4).

#include <prometheus/metric_family.h>

#include <span>
#include <string>
#include <vector>

namespace notify::services::exposition {

prometheus::MetricFamily counter(std::string name, std::string help, double value);
prometheus::MetricFamily gauge(std::string name, std::string help, double value);
/// A histogram from cumulative bucket counts (one per bound in `bounds`; +Inf is `count`).
prometheus::MetricFamily histogram(std::string name, std::string help, std::span<const double> bounds,
                                   std::span<const std::uint64_t> cumulative, std::uint64_t count, double sum);

/// Families of one name are merged into one (the format allows a name once); a family whose type differs from the
/// first of its name is left out rather than producing a body Prometheus refuses.
std::string text(std::vector<prometheus::MetricFamily> families);

}  // namespace notify::services::exposition
