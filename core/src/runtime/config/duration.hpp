#pragma once
// Durations in config: "250ms", "30s", "5m", "1h", "2d", or a bare integer of milliseconds.

#include <chrono>
#include <optional>
#include <string_view>

namespace notify::config {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace notify::config
