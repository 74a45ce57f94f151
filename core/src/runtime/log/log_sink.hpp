#pragma once
// Process-wide log output: one line per message (text or JSON), per-component levels, and a redaction pass over
// every line so a secret that slipped into a message is still never written.

#include <notify/log.hpp>
#include <notify/result.hpp>

#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace notify::logging {

enum class Format { text, json };

std::optional<LogLevel> parse_level(std::string_view text);
const char* level_name(LogLevel level);

/// Levels parsed from a spec like "info,link=trace,braze=debug" (the NOTIFY_LOG variable, in the spirit of the
/// seed's RUST_LOG). A bare level sets the default; name=level sets a component.
struct LevelSpec {
  std::optional<LogLevel> default_level;
  std::map<std::string, LogLevel> components;
};
Result<LevelSpec> parse_level_spec(std::string_view spec);

class LogSink {
 public:
  static LogSink& instance();

  void configure(LogLevel default_level, std::map<std::string, LogLevel> components, Format format);
  /// Called on every line before it is written; the host installs the SecretStore's redactor.
  void set_redactor(std::function<void(std::string&)> redactor);
  /// Where lines go (stderr by default). Not owned.
  void set_output(std::FILE* out);
  /// Also hands every written line (after redaction) to `tap`, e.g. the enclave's buffer for the parent. The tap
  /// must not log. An empty function removes it.
  using Tap = std::function<void(LogLevel, std::string_view component, std::string_view message)>;
  void set_tap(Tap tap);

  [[nodiscard]] LogLevel level_for(std::string_view component) const;
  void write(LogLevel level, std::string_view component, std::string_view message) noexcept;

  /// A logger for one component. Its level is fixed at creation from the current configuration.
  std::shared_ptr<Log> logger(std::string component);

 private:
  mutable std::mutex mu_;
  LogLevel default_level_ = LogLevel::info;
  std::map<std::string, LogLevel, std::less<>> components_;
  Format format_ = Format::text;
  std::function<void(std::string&)> redactor_;
  std::shared_ptr<const Tap> tap_;
  std::FILE* out_ = stderr;
};

}  // namespace notify::logging
