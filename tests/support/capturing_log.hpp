#pragma once
// A notify::Log for unit tests: keeps every line in memory so a test can assert on (or search for) what was logged.

#include <notify/log.hpp>

#include <mutex>
#include <string>
#include <vector>

namespace notify::testing {

class CapturingLog final : public Log {
 public:
  explicit CapturingLog(LogLevel threshold = LogLevel::trace) : threshold_(threshold) {}
  bool enabled(LogLevel level) const noexcept override { return level >= threshold_; }
  void write(LogLevel level, std::string_view message) noexcept override {
    std::lock_guard lock(mu_);
    lines_.push_back({level, std::string(message)});
  }
  struct Line {
    LogLevel level;
    std::string text;
  };
  std::vector<Line> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }
  bool contains(std::string_view needle) const {
    std::lock_guard lock(mu_);
    for (const auto& l : lines_)
      if (l.text.find(needle) != std::string::npos) return true;
    return false;
  }
  std::string all() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& l : lines_) out += l.text + "\n";
    return out;
  }

 private:
  LogLevel threshold_;
  mutable std::mutex mu_;
  std::vector<Line> lines_;
};

}  // namespace notify::testing
