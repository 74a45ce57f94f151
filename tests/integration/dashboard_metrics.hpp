#pragma once
// What the shipped dashboard (deploy/grafana/enclave-notify.json) and alert rules (deploy/prometheus/alerts.yml)
// query: their PromQL expressions and the notify_* metric names in them. Shared by the unit test that holds them to
// the names in the source and by the production-config test that holds them to a running parent's /metrics.
// Header-only; link Poco::JSON and yaml-cpp.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace notify::testing {

inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

inline std::filesystem::path dashboard_file(const std::filesystem::path& source_dir) {
  return source_dir / "deploy" / "grafana" / "enclave-notify.json";
}
inline std::filesystem::path alerts_file(const std::filesystem::path& source_dir) {
  return source_dir / "deploy" / "prometheus" / "alerts.yml";
}

namespace detail {
// Grafana keeps PromQL in "expr" (panel targets) and in a variable's "query" / "definition".
inline void collect_queries(const Poco::Dynamic::Var& node, std::vector<std::string>& out) {
  if (node.type() == typeid(Poco::JSON::Object::Ptr)) {
    const auto obj = node.extract<Poco::JSON::Object::Ptr>();
    for (const auto& [key, value] : *obj) {
      if ((key == "expr" || key == "query" || key == "definition") && value.isString()) {
        out.push_back(value.toString());
      } else {
        collect_queries(value, out);
      }
    }
  } else if (node.type() == typeid(Poco::JSON::Array::Ptr)) {
    for (const auto& item : *node.extract<Poco::JSON::Array::Ptr>()) collect_queries(item, out);
  }
}
}  // namespace detail

/// Every PromQL expression of the dashboard (throws Poco::Exception when it is not JSON).
inline std::vector<std::string> dashboard_queries(const std::filesystem::path& source_dir) {
  Poco::JSON::Parser parser;
  std::vector<std::string> out;
  detail::collect_queries(parser.parse(read_text(dashboard_file(source_dir))), out);
  return out;
}

/// Every rule's `expr` (throws YAML::Exception when it is not YAML).
inline std::vector<std::string> alert_queries(const std::filesystem::path& source_dir) {
  const YAML::Node doc = YAML::LoadFile(alerts_file(source_dir).string());
  std::vector<std::string> out;
  for (const auto& group : doc["groups"]) {
    for (const auto& rule : group["rules"]) out.push_back(rule["expr"].as<std::string>());
  }
  return out;
}

/// The notify_* metric names an expression names (a name starts where no identifier character precedes it).
inline std::set<std::string> metric_names(const std::string& expr) {
  static const std::regex name(R"((^|[^A-Za-z0-9_:])(notify_[A-Za-z0-9_:]+))");
  std::set<std::string> out;
  for (std::sregex_iterator it(expr.begin(), expr.end(), name), end; it != end; ++it) out.insert((*it)[2].str());
  return out;
}

inline std::set<std::string> metric_names(const std::vector<std::string>& exprs) {
  std::set<std::string> out;
  for (const auto& e : exprs) out.merge(metric_names(e));
  return out;
}

/// A histogram's series (`x_bucket`, `x_sum`, `x_count`) are exported under the histogram's name `x`.
inline std::string histogram_base(const std::string& series) {
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (series.size() > suffix.size() && series.compare(series.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return series.substr(0, series.size() - suffix.size());
    }
  }
  return series;
}

}  // namespace notify::testing
