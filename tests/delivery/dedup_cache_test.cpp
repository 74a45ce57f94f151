// The enclave's request_id memory: hits, LRU eviction at capacity, TTL expiry, and find-or-claim (a second arrival of
// a request_id in flight waits for the first call's result instead of calling the provider again).
#include "enclave/dedup_cache.hpp"

#include <notify/toolkit/clock.hpp>

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>

using namespace notify;
using notify::delivery::DedupCache;

TEST(DedupCache, RemembersFinalResults) {
  DedupCache c(10, std::chrono::hours(1));
  EXPECT_FALSE(c.find("a"));
  c.remember("a", DeliveryResult::delivered("d-1"));
  auto hit = c.find("a");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->reference, "d-1");
}

TEST(DedupCache, EvictsLeastRecentlyUsedAtCapacity) {
  DedupCache c(2, std::chrono::hours(1));
  c.remember("a", DeliveryResult::delivered("1"));
  c.remember("b", DeliveryResult::delivered("2"));
  EXPECT_TRUE(c.find("a"));  // a is now the most recent
  c.remember("c", DeliveryResult::delivered("3"));
  EXPECT_TRUE(c.find("a"));
  EXPECT_FALSE(c.find("b"));
  EXPECT_TRUE(c.find("c"));
  EXPECT_EQ(c.size(), 2u);
}

TEST(DedupCache, ForgetsAfterTtl) {
  auto clock = std::make_shared<notify::toolkit::ManualClock>();
  DedupCache c(10, std::chrono::milliseconds(30), clock);
  c.remember("a", DeliveryResult::rejected("bad"));
  clock->advance(std::chrono::milliseconds(29));
  EXPECT_TRUE(c.find("a"));  // still within its TTL
  clock->advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(c.find("a"));
  EXPECT_EQ(c.size(), 0u);
}

namespace {
using Claim = DedupCache::ClaimState;
auto in(std::chrono::milliseconds d) { return std::chrono::steady_clock::now() + d; }
}  // namespace

TEST(DedupClaim, FirstArrivalClaimsAndAFinalSettleIsRemembered) {
  DedupCache c(10, std::chrono::hours(1));
  EXPECT_EQ(c.claim("a", in(std::chrono::seconds(5))).state, Claim::claimed);
  EXPECT_EQ(c.in_flight(), 1u);
  c.settle("a", DeliveryResult::delivered("d-1"));
  EXPECT_EQ(c.in_flight(), 0u);
  const auto again = c.claim("a", in(std::chrono::seconds(5)));
  EXPECT_EQ(again.state, Claim::known);
  ASSERT_TRUE(again.result);
  EXPECT_EQ(again.result->reference, "d-1");
}

TEST(DedupClaim, ARetryableSettleLetsTheNextArrivalClaimAgain) {
  DedupCache c(10, std::chrono::hours(1));
  ASSERT_EQ(c.claim("a", in(std::chrono::seconds(5))).state, Claim::claimed);
  c.settle("a", DeliveryResult::retryable("429"));
  EXPECT_EQ(c.claim("a", in(std::chrono::seconds(5))).state, Claim::claimed);
}

TEST(DedupClaim, ASecondArrivalWaitsForTheFirstCallsResult) {
  DedupCache c(10, std::chrono::hours(1));
  ASSERT_EQ(c.claim("a", in(std::chrono::seconds(5))).state, Claim::claimed);
  auto second = std::async(std::launch::async, [&] { return c.claim("a", in(std::chrono::seconds(30))); });
  while (c.waiting() == 0) std::this_thread::yield();  // the second caller is blocked on the first one's claim
  c.settle("a", DeliveryResult::delivered("d-7"));
  const auto got = second.get();
  EXPECT_EQ(got.state, Claim::joined);
  ASSERT_TRUE(got.result);
  EXPECT_EQ(got.result->reference, "d-7");
  EXPECT_EQ(c.waiting(), 0u);
}

TEST(DedupClaim, AWaiterGetsEvenARetryableResultAndDoesNotCallAgain) {
  DedupCache c(10, std::chrono::hours(1));
  ASSERT_EQ(c.claim("a", in(std::chrono::seconds(5))).state, Claim::claimed);
  auto second = std::async(std::launch::async, [&] { return c.claim("a", in(std::chrono::seconds(30))); });
  while (c.waiting() == 0) std::this_thread::yield();
  c.settle("a", DeliveryResult::retryable("503 from Braze"));
  const auto got = second.get();
  EXPECT_EQ(got.state, Claim::joined);
  EXPECT_EQ(got.result->outcome, Outcome::retryable);
}

TEST(DedupClaim, StillInFlightAtTheDeadlineIsBusyNotASecondClaim) {
  DedupCache c(10, std::chrono::hours(1));
  ASSERT_EQ(c.claim("a", in(std::chrono::seconds(5))).state, Claim::claimed);
  EXPECT_EQ(c.claim("a", in(std::chrono::milliseconds(20))).state, Claim::busy);
  EXPECT_EQ(c.claim("a", std::chrono::steady_clock::now()).state, Claim::busy);  // a deadline already passed
  EXPECT_EQ(c.in_flight(), 1u);
  c.settle("a", DeliveryResult::delivered("d-2"));
  EXPECT_EQ(c.claim("a", in(std::chrono::seconds(5))).state, Claim::known);
}

TEST(DedupClaim, ManyConcurrentArrivalsClaimOnce) {
  DedupCache c(10, std::chrono::hours(1));
  constexpr int kCallers = 16;
  std::atomic<int> claimed{0};
  std::vector<std::future<Claim>> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.push_back(std::async(std::launch::async, [&] {
      auto got = c.claim("same", in(std::chrono::seconds(30)));
      if (got.state == Claim::claimed) {
        ++claimed;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // at the provider
        c.settle("same", DeliveryResult::delivered("once"));
      }
      return got.state;
    }));
  }
  int joined_or_known = 0;
  for (auto& f : callers) {
    const auto st = f.get();
    joined_or_known += (st == Claim::joined || st == Claim::known) ? 1 : 0;
  }
  EXPECT_EQ(claimed.load(), 1);
  EXPECT_EQ(joined_or_known, kCallers - 1);
}

TEST(DedupClaim, APassedDeadlineOnlyTries) {
  DedupCache c(10, std::chrono::hours(1));
  ASSERT_EQ(c.claim("a", in(std::chrono::seconds(5))).state, Claim::claimed);
  EXPECT_EQ(c.claim("a", std::chrono::steady_clock::time_point::min()).state, Claim::busy);
  EXPECT_EQ(c.waiting(), 0u);
  EXPECT_EQ(c.claim("b", std::chrono::steady_clock::now()).state, Claim::claimed);  // a free id is still claimed
}
