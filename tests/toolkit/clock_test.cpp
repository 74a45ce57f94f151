#include <notify/toolkit/clock.hpp>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using namespace std::chrono_literals;
using notify::toolkit::Clock;
using notify::toolkit::ManualClock;
using notify::toolkit::real_clock;

TEST(ManualClock, StandsStillUntilAdvanced) {
  ManualClock clock;
  const auto s0 = clock.steady_now();
  const auto w0 = clock.system_now();
  EXPECT_EQ(clock.steady_now(), s0);
  EXPECT_EQ(clock.system_now(), w0);
  clock.advance(1500ms);
  EXPECT_EQ(clock.steady_now() - s0, 1500ms);
  EXPECT_EQ(clock.system_now() - w0, 1500ms);
}

TEST(ManualClock, StartsAtTheGivenWallTimeAndReportsEpochMilliseconds) {
  const std::chrono::system_clock::time_point start{std::chrono::milliseconds(1'234'567)};
  ManualClock clock(start);
  EXPECT_EQ(clock.system_now(), start);
  EXPECT_EQ(clock.epoch_ms(), 1'234'567);
  clock.advance(3ms);
  EXPECT_EQ(clock.epoch_ms(), 1'234'570);
}

TEST(ManualClock, SteadyTimeNeverGoesBack) {
  ManualClock clock;
  const auto s0 = clock.steady_now();
  clock.advance(-5s);
  EXPECT_EQ(clock.steady_now(), s0);
  // A wall-clock step (NTP) moves only the wall reading.
  clock.set_system(std::chrono::system_clock::time_point{std::chrono::milliseconds(42)});
  EXPECT_EQ(clock.epoch_ms(), 42);
  EXPECT_EQ(clock.steady_now(), s0);
  clock.advance(8ms);
  EXPECT_EQ(clock.epoch_ms(), 50);
}

TEST(ManualClock, IsReadableWhileAnotherThreadAdvancesIt) {
  ManualClock clock;
  const auto s0 = clock.steady_now();
  std::thread writer([&] {
    for (int i = 0; i < 1000; ++i) clock.advance(1ms);
  });
  auto last = s0;
  for (int i = 0; i < 1000; ++i) {
    const auto now = clock.steady_now();
    EXPECT_GE(now, last);
    last = now;
  }
  writer.join();
  EXPECT_EQ(clock.steady_now() - s0, 1000ms);
}

TEST(RealClock, IsSharedAndFollowsTheSystem) {
  const auto a = real_clock();
  const auto b = real_clock();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a.get(), b.get());
  const auto before = std::chrono::steady_clock::now();
  const auto read = a->steady_now();
  EXPECT_GE(read, before);
  EXPECT_GE(a->steady_now(), read);
}

TEST(Clock, CodeWrittenAgainstTheInterfaceTakesEither) {
  auto manual = std::make_shared<ManualClock>();
  std::vector<std::shared_ptr<const Clock>> clocks = {real_clock(), manual};
  for (const auto& c : clocks) EXPECT_GT(c->epoch_ms(), 0);
}
