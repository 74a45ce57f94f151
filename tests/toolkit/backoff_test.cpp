#include <notify/toolkit/backoff.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <vector>

using namespace std::chrono_literals;
using notify::toolkit::Backoff;
using notify::toolkit::BackoffPolicy;
using notify::toolkit::Rng;

TEST(BackoffPolicy, CeilingDoublesFromInitialUpToTheCap) {
  const BackoffPolicy p{100ms, 1000ms};
  EXPECT_EQ(p.ceiling(0), 100ms);
  EXPECT_EQ(p.ceiling(1), 200ms);
  EXPECT_EQ(p.ceiling(2), 400ms);
  EXPECT_EQ(p.ceiling(3), 800ms);
  EXPECT_EQ(p.ceiling(4), 1000ms);
  EXPECT_EQ(p.ceiling(-3), 100ms);  // a negative attempt counts as the first
}

TEST(BackoffPolicy, NeverOverflowsHoweverManyAttempts) {
  const BackoffPolicy p{std::chrono::milliseconds(std::numeric_limits<std::int64_t>::max() / 4), 7'000'000ms};
  EXPECT_EQ(p.ceiling(0), 7'000'000ms);
  const BackoffPolicy q{300'000ms, std::chrono::milliseconds(std::numeric_limits<std::int64_t>::max())};
  EXPECT_EQ(q.ceiling(62), std::chrono::milliseconds(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(q.ceiling(std::numeric_limits<int>::max()),
            std::chrono::milliseconds(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(BackoffPolicy({1ms, 10'000ms}).ceiling(1000), 10'000ms);
}

TEST(BackoffPolicy, ZeroInitialMeansNoDelay) {
  Rng rng(1);
  EXPECT_EQ(BackoffPolicy({0ms, 1000ms}).delay(5, rng), 0ms);
  EXPECT_EQ(BackoffPolicy({-5ms, -1ms}).delay(0, rng), 0ms);
}

TEST(BackoffPolicy, DelayIsDrawnFromTheUpperHalfOfTheCeiling) {
  const BackoffPolicy p{100ms, 1000ms};
  Rng rng(42);
  bool below_ceiling = false;
  for (int attempt = 0; attempt < 8; ++attempt) {
    for (int i = 0; i < 200; ++i) {
      const auto d = p.delay(attempt, rng);
      EXPECT_GE(d, p.ceiling(attempt) / 2) << attempt;
      EXPECT_LE(d, p.ceiling(attempt)) << attempt;
      below_ceiling = below_ceiling || d < p.ceiling(attempt);
    }
  }
  EXPECT_TRUE(below_ceiling) << "no jitter at all";
}

TEST(BackoffPolicy, SameSeedSameDelays) {
  const BackoffPolicy p{10ms, 100'000ms};
  Rng a(7);
  Rng b(7);
  Rng c(8);
  std::vector<std::int64_t> da, db, dc;
  for (int i = 0; i < 16; ++i) {
    da.push_back(p.delay(i, a).count());
    db.push_back(p.delay(i, b).count());
    dc.push_back(p.delay(i, c).count());
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
}

TEST(Backoff, GrowsWithFailuresAndStartsOverAfterReset) {
  Backoff b(100ms, 800ms, /*seed=*/3);
  const auto first = b.next();
  EXPECT_GE(first, 50ms);
  EXPECT_LE(first, 100ms);
  b.next();
  b.next();
  const auto fourth = b.next();
  EXPECT_GE(fourth, 400ms);
  EXPECT_LE(fourth, 800ms);
  EXPECT_EQ(b.failures(), 4);
  b.reset();
  EXPECT_EQ(b.failures(), 0);
  EXPECT_LE(b.next(), 100ms);
}

TEST(Backoff, LongestIsAtTheCapAndDoesNotCount) {
  Backoff b(100ms, 800ms, 5);
  const auto d = b.longest();
  EXPECT_GE(d, 400ms);
  EXPECT_LE(d, 800ms);
  EXPECT_EQ(b.failures(), 0);
}

TEST(Backoff, NeverSpinsOnAZeroInitial) {
  Backoff b(0ms, 0ms, 9);
  EXPECT_EQ(b.policy().initial, 1ms);
  EXPECT_EQ(b.policy().max, 1ms);
  for (int i = 0; i < 100; ++i) EXPECT_LE(b.next(), 1ms);
}

TEST(Backoff, SeededBackoffsAgree) {
  Backoff a(50ms, 60'000ms, 11);
  Backoff b(50ms, 60'000ms, 11);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.next(), b.next()) << i;
}
