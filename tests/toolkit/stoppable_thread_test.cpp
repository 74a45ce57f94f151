#include <notify/toolkit/stoppable_thread.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

using namespace std::chrono_literals;
using notify::toolkit::StoppableThread;

namespace {

// Counts the loop's turns and lets the test wait for a given count (no sleeping to synchronise).
struct Turns {
  std::mutex mu;
  std::condition_variable cv;
  int count = 0;
  void add() {
    {
      std::lock_guard lock(mu);
      ++count;
    }
    cv.notify_all();
  }
  bool wait_for_at_least(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 30s, [&] { return count >= n; });
  }
};

}  // namespace

TEST(StoppableThread, StopWakesALongWaitAndJoins) {
  StoppableThread t;
  Turns turns;
  std::atomic<bool> returned{false};
  ASSERT_TRUE(t.start([&] {
    while (!t.stopping()) {
      turns.add();
      if (!t.wait_for(24h)) break;
    }
    returned = true;
  }));
  ASSERT_TRUE(turns.wait_for_at_least(1));
  t.stop();  // would hang (and the test time out) if the 24 h wait were not woken
  EXPECT_TRUE(returned.load());
  EXPECT_TRUE(t.stopping());
}

TEST(StoppableThread, WakeEndsOneWaitEarly) {
  StoppableThread t;
  Turns turns;
  ASSERT_TRUE(t.start([&] {
    do {
      turns.add();
    } while (t.wait_for(24h));
  }));
  ASSERT_TRUE(turns.wait_for_at_least(1));
  t.wake();
  ASSERT_TRUE(turns.wait_for_at_least(2));
  t.wake();
  ASSERT_TRUE(turns.wait_for_at_least(3));
  t.stop();
}

TEST(StoppableThread, WaitForTimesOutAndReportsRunning) {
  StoppableThread t;
  std::atomic<int> waits{0};
  std::atomic<bool> all_true{true};
  Turns turns;
  ASSERT_TRUE(t.start([&] {
    for (int i = 0; i < 3; ++i) {
      if (!t.wait_for(1ms)) all_true = false;
      ++waits;
    }
    turns.add();
  }));
  ASSERT_TRUE(turns.wait_for_at_least(1));
  t.stop();
  EXPECT_EQ(waits.load(), 3);
  EXPECT_TRUE(all_true.load());
}

TEST(StoppableThread, StartsOnceAndStopIsIdempotent) {
  StoppableThread t;
  std::atomic<int> runs{0};
  ASSERT_TRUE(t.start([&] { ++runs; }));
  EXPECT_FALSE(t.start([&] { ++runs; }));
  t.stop();
  t.stop();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_FALSE(t.start([&] { ++runs; }));  // a stopped thread does not start again
  EXPECT_EQ(runs.load(), 1);
}

TEST(StoppableThread, StopBeforeStartAndDestructionWithoutStartAreHarmless) {
  { StoppableThread never_started; }
  StoppableThread t;
  t.stop();
  EXPECT_TRUE(t.stopping());
  EXPECT_FALSE(t.wait_for(24h));  // returns at once once stopping
}
