#include "enclave/log_ring.hpp"

#include <algorithm>
#include <chrono>

namespace notify::enclave {

LogRing::LogRing(std::size_t capacity, LogLevel min_level)
    : capacity_(std::max<std::size_t>(1, capacity)), min_level_(min_level) {}

void LogRing::push(LogLevel level, std::string_view component, std::string_view message) noexcept {
  if (level < min_level_) return;
  try {
    link::LogLine line;
    line.at_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    line.level = level;
    line.component = std::string(component.substr(0, 128));
    if (message.size() > kMaxLineBytes) {
      line.message = std::string(message.substr(0, kMaxLineBytes)) + " … (cut at 4096 bytes)";
    } else {
      line.message = std::string(message);
    }
    std::lock_guard lock(mu_);
    if (lines_.size() >= capacity_) {
      lines_.pop_front();
      ++dropped_;
    }
    lines_.push_back(std::move(line));
  } catch (...) {
    // A line the ring could not keep (bad_alloc) is a line dropped, not a crash; it was written locally already.
    std::lock_guard lock(mu_);
    ++dropped_;
  }
}

link::LogsReply LogRing::take(std::size_t max) {
  link::LogsReply out;
  std::lock_guard lock(mu_);
  const auto n = std::min(max, lines_.size());
  out.lines.assign(std::make_move_iterator(lines_.begin()),
                   std::make_move_iterator(lines_.begin() + static_cast<std::ptrdiff_t>(n)));
  lines_.erase(lines_.begin(), lines_.begin() + static_cast<std::ptrdiff_t>(n));
  out.dropped = dropped_;
  dropped_ = 0;
  return out;
}

}  // namespace notify::enclave
