#pragma once
// Reading a Prometheus text exposition (a /metrics page) in tests: the value of one series picked by its name and
// some of its labels. Plain text matching on purpose — the test checks what a scraper would read, not our own parser.
#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace notify::testing {

/// The value text of the first series `name` that carries every label of `labels` (in any order, among others), or
/// nullopt. With no labels, a series without labels matches too.
inline std::optional<std::string> metric_text(const std::string& page, const std::string& name,
                                              const std::map<std::string, std::string>& labels = {}) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(name + "{") && !(labels.empty() && line.starts_with(name + " "))) continue;
    bool all = true;
    for (const auto& [k, v] : labels) all = all && line.find(k + "=\"" + v + "\"") != std::string::npos;
    if (all) return line.substr(line.rfind(' ') + 1);
  }
  return std::nullopt;
}

/// metric_text() as a number.
inline std::optional<double> metric_value(const std::string& page, const std::string& name,
                                          const std::map<std::string, std::string>& labels = {}) {
  auto text = metric_text(page, name, labels);
  if (!text) return std::nullopt;
  try {
    return std::stod(*text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// True when the page has any series of `name` (labelled or not).
inline bool metric_exposed(const std::string& page, const std::string& name) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(name + "{") || line.starts_with(name + " ")) return true;
  }
  return false;
}

}  // namespace notify::testing
