#pragma once
/// @file log.hpp
/// The logger a plugin is handed. It belongs to the component named after the plugin instance, so its level is
/// set per component from config or NOTIFY_LOG. Every line passes through the host's secret redactor.

#include <notify/abi.hpp>

#include <string_view>

namespace notify {

enum class LogLevel : int { trace = 0, debug = 1, info = 2, warning = 3, error = 4 };

class NOTIFY_API Log {
 public:
  virtual ~Log() = default;
  [[nodiscard]] virtual bool enabled(LogLevel level) const noexcept = 0;
  virtual void write(LogLevel level, std::string_view message) noexcept = 0;

  void trace(std::string_view m) noexcept {
    if (enabled(LogLevel::trace)) write(LogLevel::trace, m);
  }
  void debug(std::string_view m) noexcept {
    if (enabled(LogLevel::debug)) write(LogLevel::debug, m);
  }
  void info(std::string_view m) noexcept {
    if (enabled(LogLevel::info)) write(LogLevel::info, m);
  }
  void warning(std::string_view m) noexcept {
    if (enabled(LogLevel::warning)) write(LogLevel::warning, m);
  }
  void error(std::string_view m) noexcept {
    if (enabled(LogLevel::error)) write(LogLevel::error, m);
  }
};

}  // namespace notify
