// The enclave's request_id memory: hits, LRU eviction at capacity, TTL expiry.
#include "enclave/dedup_cache.hpp"

#include <notify/toolkit/clock.hpp>

#include <gtest/gtest.h>

#include <memory>

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
