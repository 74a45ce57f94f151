#pragma once
// Parsed notify-ctl options, shared by the command files.

#include <map>
#include <optional>
#include <string>

namespace notify::ctl {

struct CtlOptions {
  std::map<std::string, std::string> values;
  [[nodiscard]] std::optional<std::string> get(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] bool has(const std::string& name) const { return values.count(name) != 0; }
};

}  // namespace notify::ctl
