#pragma once
// An injectable source of time. Code that decides by the clock (leases, retry due times, retention, TTLs) asks a
// Clock instead of std::chrono directly, so a test can hold time still and move it forward by hand instead of
// sleeping. Production code uses real_clock(); constructors that take a clock default to it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace notify::toolkit {

/// Two readings: steady (monotonic, for durations, deadlines, TTLs) and system (wall time, for what is stored or
/// shown: record timestamps that must survive a restart).
class Clock {
 public:
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  virtual ~Clock() = default;

  [[nodiscard]] virtual std::chrono::steady_clock::time_point steady_now() const = 0;
  [[nodiscard]] virtual std::chrono::system_clock::time_point system_now() const = 0;

  /// Wall time in milliseconds since the epoch: the unit the queue stores.
  [[nodiscard]] std::int64_t epoch_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(system_now().time_since_epoch()).count();
  }
};

/// The operating system's clocks.
class RealClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
  [[nodiscard]] std::chrono::system_clock::time_point system_now() const override {
    return std::chrono::system_clock::now();
  }
};

/// The process-wide real clock, the default of every constructor that takes a clock.
inline std::shared_ptr<const Clock> real_clock() {
  static const auto clock = std::make_shared<const RealClock>();
  return clock;
}

/// A clock that moves only when told to: both readings advance together by advance(). Safe to read from other
/// threads while a test advances it.
class ManualClock final : public Clock {
 public:
  /// Starts at `wall` (system time); the steady reading starts at an arbitrary fixed point.
  explicit ManualClock(std::chrono::system_clock::time_point wall =
                           std::chrono::system_clock::time_point{std::chrono::milliseconds(1'700'000'000'000)})
      : wall_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count()) {}

  [[nodiscard]] std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point{std::chrono::nanoseconds(elapsed_ns_.load())} + kSteadyOrigin;
  }
  [[nodiscard]] std::chrono::system_clock::time_point system_now() const override {
    return std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::nanoseconds(wall_ns_.load() + elapsed_ns_.load()))};
  }

  /// Moves both readings forward by `d` (a negative `d` is ignored: steady time never goes back).
  void advance(std::chrono::nanoseconds d) {
    if (d.count() > 0) elapsed_ns_.fetch_add(d.count());
  }
  /// Sets the wall reading only (as an NTP step would); the steady reading is unchanged.
  void set_system(std::chrono::system_clock::time_point wall) {
    wall_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count() -
                   elapsed_ns_.load());
  }

 private:
  static constexpr std::chrono::hours kSteadyOrigin{1000};
  std::atomic<std::int64_t> wall_ns_;
  std::atomic<std::int64_t> elapsed_ns_{0};
};

}  // namespace notify::toolkit
