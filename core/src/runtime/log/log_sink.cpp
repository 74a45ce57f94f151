#include "runtime/log/log_sink.hpp"

#include <Poco/JSON/Object.h>

#include <chrono>
#include <ctime>
#include <sstream>

namespace notify::logging {
namespace {

class ComponentLog final : public Log {
 public:
  ComponentLog(LogSink& sink, std::string component, LogLevel level)
      : sink_(sink), component_(std::move(component)), level_(static_cast<int>(level)) {}
  bool enabled(LogLevel level) const noexcept override { return static_cast<int>(level) >= level_.load(); }
  void write(LogLevel level, std::string_view message) noexcept override { sink_.write(level, component_, message); }

 private:
  LogSink& sink_;
  std::string component_;
  std::atomic<int> level_;
};

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

std::optional<LogLevel> parse_level(std::string_view t) {
  if (t == "trace") return LogLevel::trace;
  if (t == "debug") return LogLevel::debug;
  if (t == "info") return LogLevel::info;
  if (t == "warning" || t == "warn") return LogLevel::warning;
  if (t == "error") return LogLevel::error;
  return std::nullopt;
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::trace:
      return "TRACE";
    case LogLevel::debug:
      return "DEBUG";
    case LogLevel::info:
      return "INFO";
    case LogLevel::warning:
      return "WARN";
    case LogLevel::error:
      return "ERROR";
  }
  return "?";
}

Result<LevelSpec> parse_level_spec(std::string_view spec) {
  LevelSpec out;
  while (!spec.empty()) {
    auto comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::string_view name = eq == std::string_view::npos ? std::string_view{} : item.substr(0, eq);
    std::string_view level_text = eq == std::string_view::npos ? item : item.substr(eq + 1);
    auto level = parse_level(level_text);
    if (!level) {
      return Error{Errc::invalid_argument,
                   "log level '" + std::string(level_text) + "' is not one of trace, debug, info, warning, error"};
    }
    if (name.empty())
      out.default_level = *level;
    else
      out.components[std::string(name)] = *level;
  }
  return out;
}

LogSink& LogSink::instance() {
  static LogSink sink;
  return sink;
}

void LogSink::configure(LogLevel default_level, std::map<std::string, LogLevel> components, Format format) {
  std::lock_guard lock(mu_);
  default_level_ = default_level;
  components_.clear();
  for (auto& [k, v] : components) components_.emplace(k, v);
  format_ = format;
}

void LogSink::set_redactor(std::function<void(std::string&)> redactor) {
  std::lock_guard lock(mu_);
  redactor_ = std::move(redactor);
}

void LogSink::set_tap(Tap tap) {
  std::lock_guard lock(mu_);
  tap_ = tap ? std::make_shared<const Tap>(std::move(tap)) : nullptr;
}

void LogSink::set_output(std::FILE* out) {
  std::lock_guard lock(mu_);
  out_ = out;
}

LogLevel LogSink::level_for(std::string_view component) const {
  std::lock_guard lock(mu_);
  auto it = components_.find(component);
  return it == components_.end() ? default_level_ : it->second;
}

void LogSink::write(LogLevel level, std::string_view component, std::string_view message) noexcept {
  try {
    std::string text(message);
    std::function<void(std::string&)> redactor;
    std::shared_ptr<const Tap> tap;
    {
      std::lock_guard lock(mu_);
      redactor = redactor_;
      tap = tap_;
    }
    if (redactor) redactor(text);
    if (tap) (*tap)(level, component, text);
    std::string line;
    std::lock_guard lock(mu_);
    if (format_ == Format::json) {
      Poco::JSON::Object obj(Poco::JSON_PRESERVE_KEY_ORDER);
      obj.set("ts", timestamp());
      obj.set("level", std::string(level_name(level)));
      obj.set("component", std::string(component));
      obj.set("msg", text);
      std::ostringstream os;
      obj.stringify(os);
      line = os.str();
    } else {
      line = timestamp() + " " + level_name(level) + " [" + std::string(component) + "] " + text;
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
  } catch (...) {
    // Logging must never take the process down; a line lost to bad_alloc is the lesser evil.
  }
}

std::shared_ptr<Log> LogSink::logger(std::string component) {
  LogLevel level = level_for(component);
  return std::make_shared<ComponentLog>(*this, std::move(component), level);
}

}  // namespace notify::logging
