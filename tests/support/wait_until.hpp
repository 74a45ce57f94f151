#pragma once
// Waiting for something to happen instead of sleeping for a guessed while. For conditions with no hook to block on
// (another process's output, a file it writes, a server's counters), poll the condition briefly until it holds or
// the timeout passes. The timeout is a bound on a failure, never a measurement: a condition that holds early ends
// the wait early, so a generous timeout costs nothing when things work.
//
// Where the code under test decides by the clock (leases, backoff, TTLs, retention), do not wait at all: give it a
// notify::toolkit::ManualClock and advance that.

#include <chrono>
#include <thread>

namespace notify::testing {

/// Polls `done()` every `poll` until it returns true (→ true) or `timeout` has passed (→ the last answer, false).
template <class Predicate>
bool wait_until(Predicate&& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace notify::testing
