#pragma once
// The start/stop every background service needs, written once: one thread running the service's loop, a stop flag,
// and a condition variable the loop waits on, so stop() wakes a sleeping loop at once and joins it. The loop asks
// wait_for(d) instead of sleeping; it returns false once stop() was called, and the loop returns.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace notify::toolkit {

class StoppableThread {
 public:
  StoppableThread() = default;
  StoppableThread(const StoppableThread&) = delete;
  StoppableThread& operator=(const StoppableThread&) = delete;
  /// Stops and joins.
  ~StoppableThread();

  /// Runs `loop` on a new thread. A second start (while running, or after stop) does nothing and returns false.
  bool start(std::function<void()> loop);
  /// Asks the loop to end, wakes it and joins it. Idempotent; must not be called from the loop itself.
  void stop();
  /// Waits up to `d`, returning early when woken. False once stop() was called (the loop should return then).
  [[nodiscard]] bool wait_for(std::chrono::milliseconds d);
  /// Ends the current (or the next) wait_for early, e.g. because new work arrived.
  void wake();
  [[nodiscard]] bool stopping() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  bool started_ = false;
  std::mutex join_mu_;  // serialises joins, apart from mu_ so the loop can still take mu_ while being joined
  std::thread thread_;
};

}  // namespace notify::toolkit
