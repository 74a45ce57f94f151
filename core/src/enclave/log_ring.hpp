#pragma once
// The enclave's log lines for the parent. A production enclave has no console, so its lines (redacted before they
// get here) wait in a bounded ring until the parent asks for them over the link. While no parent reads, the oldest
// lines make room for new ones and are counted, so the parent can say exactly how many it never saw.

#include "link/messages.hpp"

#include <notify/log.hpp>

#include <cstddef>
#include <deque>
#include <mutex>
#include <string_view>

namespace notify::enclave {

class LogRing {
 public:
  static constexpr std::size_t kMaxLineBytes = 4096;  // a longer message is cut (and says so)

  /// Keeps at most `capacity` lines of `min_level` or above.
  LogRing(std::size_t capacity, LogLevel min_level);

  void push(LogLevel level, std::string_view component, std::string_view message) noexcept;
  /// Up to `max` lines, oldest first, removed from the ring, with the count dropped since the previous take.
  link::LogsReply take(std::size_t max);

  [[nodiscard]] LogLevel min_level() const noexcept { return min_level_; }

 private:
  std::size_t capacity_;
  LogLevel min_level_;
  std::mutex mu_;
  std::deque<link::LogLine> lines_;
  std::uint64_t dropped_ = 0;
};

}  // namespace notify::enclave
