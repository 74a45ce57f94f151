// The queue's contract (see queue_contract.hpp), for every backend: durable, idempotent enqueue; leasing; outcomes
// with backoff; dead letters; capacity; retention; and the work of a host that died taken over after its lease.
#include "queue_contract.hpp"
#include "wait_until.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace notify;
using namespace notify::delivery;
using namespace notify::delivery::testing;
using namespace std::chrono_literals;

TEST_P(QueueContract, EnqueueIsIdempotentByRequestId) {
  auto q = open_queue();
  std::vector<Notification> batch = {make_notification("a"), make_notification("b"), make_notification("a")};
  auto r = q->enqueue(batch);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE((*r)[0].duplicate);
  EXPECT_FALSE((*r)[1].duplicate);
  EXPECT_TRUE((*r)[2].duplicate);
  auto again = q->enqueue(std::span(batch).first(1));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)[0].duplicate);
  EXPECT_EQ(q->depth().value(), 2u);
}

TEST_P(QueueContract, LeaseCompleteDeliveredKeepsReferenceAndHistory) {
  auto q = open_queue();
  ASSERT_TRUE(q->enqueue(std::vector{make_notification("a")}).ok());
  auto leased = q->lease(10);
  ASSERT_TRUE(leased.ok());
  ASSERT_EQ(leased->size(), 1u);
  EXPECT_EQ((*leased)[0].notification.custom_data.at("k"), "v");  // stored and read back whole
  EXPECT_EQ((*leased)[0].accepted_ms, clock_->epoch_ms());        // accepted "now", by the queue's clock
  EXPECT_TRUE(q->lease(10)->empty());                             // in flight: not leased twice
  EXPECT_EQ(q->status("a").value()->state, State::in_flight);
  ASSERT_TRUE(q->complete("a", DeliveryResult::delivered("d-1")).ok());
  auto s = q->status("a").value();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, State::delivered);
  EXPECT_EQ(s->reference, "d-1");
  ASSERT_EQ(s->history.size(), 1u);
  EXPECT_EQ(s->history[0].outcome, "delivered");
  EXPECT_EQ(q->depth().value(), 0u);
}

TEST_P(QueueContract, RejectedIsFinalWithoutRetry) {
  auto q = open_queue();
  ASSERT_TRUE(q->enqueue(std::vector{make_notification("a")}).ok());
  ASSERT_EQ(q->lease(1)->size(), 1u);
  ASSERT_TRUE(q->complete("a", DeliveryResult::rejected("HTTP 400 from Braze: bad")).ok());
  clock_->advance(24h);  // far past any backoff or lease: still never offered again
  EXPECT_TRUE(q->lease(1)->empty());
  EXPECT_EQ(q->status("a").value()->state, State::rejected);
  EXPECT_EQ(q->status("a").value()->reason, "HTTP 400 from Braze: bad");
}

TEST_P(QueueContract, RetryableBacksOffHonouringRetryAfterThenDiesAfterMaxAttempts) {
  auto q = open_queue();
  ASSERT_TRUE(q->enqueue(std::vector{make_notification("a")}).ok());
  ASSERT_EQ(q->lease(1)->size(), 1u);
  ASSERT_TRUE(q->complete("a", DeliveryResult::retryable("429", 400ms)).ok());
  auto s = q->status("a").value();
  EXPECT_EQ(s->state, State::queued);
  // The provider's retry_after (400 ms) outweighs the queue's own backoff (10-20 ms): due exactly then.
  EXPECT_EQ(s->next_attempt_ms, s->history.back().at_ms + 400);
  EXPECT_TRUE(q->lease(1)->empty());
  clock_->advance(std::chrono::milliseconds(s->next_attempt_ms - clock_->epoch_ms() - 1));
  EXPECT_TRUE(q->lease(1)->empty()) << "leased 1 ms before it was due";
  clock_->advance(1ms);
  ASSERT_EQ(q->lease(1)->size(), 1u);
  ASSERT_TRUE(q->complete("a", DeliveryResult::retryable("503")).ok());
  clock_->advance(20ms);  // backoff_max
  ASSERT_EQ(q->lease(1)->size(), 1u);
  ASSERT_TRUE(q->complete("a", DeliveryResult::retryable("503 again")).ok());
  auto dead = q->status("a").value();
  EXPECT_EQ(dead->state, State::dead);
  EXPECT_EQ(dead->attempts, 3);
  EXPECT_EQ(dead->history.size(), 3u);
  clock_->advance(24h);
  EXPECT_TRUE(q->lease(1)->empty());  // dead stays dead
  auto list = q->dead(10);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].notification.request_id, "a");
  // dead retry puts it back, with its attempts reset.
  ASSERT_TRUE(q->retry_dead("a").ok());
  EXPECT_FALSE(q->retry_dead("a").ok());  // no longer dead
  auto again = q->lease(1);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].attempts, 0);
}

namespace {
Notification with_tokens(const std::string& id, std::vector<std::string> tokens) {
  auto n = make_notification(id);
  n.external_user_ids.clear();
  n.device_tokens = std::move(tokens);
  n.ttl = 3600s;
  n.priority = Priority::high;
  n.collapse_key = "ck";
  return n;
}
DeliveryResult partly(std::chrono::milliseconds after = 0ms) {
  return DeliveryResult::from_tokens({{"t-ok", TokenOutcome::delivered, "msg-1", ""},
                                      {"t-gone", TokenOutcome::invalid_token, "", "410 Unregistered"},
                                      {"t-busy", TokenOutcome::retryable, "", "503 Service Unavailable"}},
                                     after);
}
}  // namespace

TEST_P(QueueContract, APartlyRetryableDeliveryRetriesOnlyThePendingTokens) {
  auto q = open_queue();
  ASSERT_TRUE(q->enqueue(std::vector{with_tokens("a", {"t-ok", "t-gone", "t-busy"})}).ok());
  auto first = q->lease(1);
  ASSERT_EQ(first->size(), 1u);
  const auto& sent = (*first)[0].notification;
  EXPECT_EQ(sent.device_tokens, (std::vector<std::string>{"t-ok", "t-gone", "t-busy"}));
  EXPECT_EQ(sent.ttl, 3600s);  // the new fields are stored and read back
  EXPECT_EQ(sent.priority, Priority::high);
  EXPECT_EQ(sent.collapse_key, "ck");
  auto states = q->complete_batch(std::vector{std::pair<std::string, DeliveryResult>{"a", partly()}});
  ASSERT_TRUE(states.ok()) << states.error().message;
  EXPECT_EQ((*states)[0], State::queued);
  auto s = q->status("a").value();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, State::queued);
  ASSERT_EQ(s->tokens.size(), 3u);
  EXPECT_EQ(s->tokens[0].outcome, TokenOutcome::delivered);
  EXPECT_EQ(s->tokens[0].reference, "msg-1");
  EXPECT_EQ(s->tokens[1].outcome, TokenOutcome::invalid_token);
  EXPECT_EQ(s->tokens[1].reason, "410 Unregistered");
  EXPECT_EQ(s->tokens[2].outcome, TokenOutcome::retryable);
  EXPECT_EQ(s->notification.device_tokens.size(), 3u);  // the record keeps every token
  clock_->advance(1h);
  auto retry = q->lease(1);
  ASSERT_EQ(retry->size(), 1u);
  EXPECT_EQ((*retry)[0].notification.device_tokens, std::vector<std::string>{"t-busy"}) << "only the pending token";
  EXPECT_EQ((*retry)[0].invalid_tokens, std::vector<std::string>{"t-gone"});
  // The retry's result names only the token it carried; the others keep their states.
  ASSERT_TRUE(q->complete("a", DeliveryResult::from_tokens({{"t-busy", TokenOutcome::delivered, "msg-2", ""}})).ok());
  auto done = q->status("a").value();
  EXPECT_EQ(done->state, State::delivered);
  ASSERT_EQ(done->tokens.size(), 3u);
  EXPECT_EQ(done->tokens[0].reference, "msg-1");
  EXPECT_EQ(done->tokens[1].outcome, TokenOutcome::invalid_token);
  EXPECT_EQ(done->tokens[2].outcome, TokenOutcome::delivered);
  EXPECT_EQ(done->tokens[2].reference, "msg-2");
  EXPECT_EQ(q->depth().value(), 0u);
  clock_->advance(1h);
  EXPECT_TRUE(q->lease(1)->empty());
}

TEST_P(QueueContract, AFinalTokenStateIsNeverOverwrittenAndAllInvalidIsRejected) {
  auto q = open_queue();
  ASSERT_TRUE(q->enqueue(std::vector{with_tokens("a", {"t1", "t2"})}).ok());
  ASSERT_EQ(q->lease(1)->size(), 1u);
  ASSERT_TRUE(q->complete("a", DeliveryResult::from_tokens({{"t1", TokenOutcome::invalid_token, "", "gone"},
                                                            {"t2", TokenOutcome::retryable, "", "503"}}))
                  .ok());
  clock_->advance(1h);
  auto retry = q->lease(1);
  ASSERT_EQ(retry->size(), 1u);
  EXPECT_EQ((*retry)[0].notification.device_tokens, std::vector<std::string>{"t2"});
  // A confused answer naming t1 again cannot revive it.
  ASSERT_TRUE(q->complete("a", DeliveryResult::from_tokens({{"t1", TokenOutcome::delivered, "x", ""},
                                                            {"t2", TokenOutcome::invalid_token, "", "bad"}}))
                  .ok());
  auto s = q->status("a").value();
  EXPECT_EQ(s->state, State::rejected);
  EXPECT_EQ(s->tokens[0].outcome, TokenOutcome::invalid_token);
  EXPECT_EQ(s->tokens[1].outcome, TokenOutcome::invalid_token);
}

TEST_P(QueueContract, PendingTokensOfADeadNotificationAreSentAgainWhenItIsRetried) {
  auto q = open_queue();
  ASSERT_TRUE(q->enqueue(std::vector{with_tokens("a", {"t-ok", "t-gone", "t-busy"})}).ok());
  for (int i = 0; i < 3; ++i) {
    clock_->advance(1h);
    auto l = q->lease(1);
    ASSERT_EQ(l->size(), 1u) << i;
    if (i == 0) {
      ASSERT_TRUE(q->complete("a", partly()).ok());
    } else {
      EXPECT_EQ((*l)[0].notification.device_tokens, std::vector<std::string>{"t-busy"});
      ASSERT_TRUE(q->complete("a", DeliveryResult::retryable("link down")).ok());  // no per-token results
    }
  }
  auto dead = q->status("a").value();
  ASSERT_EQ(dead->state, State::dead);
  EXPECT_EQ(dead->tokens[0].outcome, TokenOutcome::delivered);
  EXPECT_EQ(dead->tokens[2].outcome, TokenOutcome::retryable);
  ASSERT_TRUE(q->retry_dead("a").ok());
  auto again = q->lease(1);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].notification.device_tokens, std::vector<std::string>{"t-busy"});
}

TEST_P(QueueContract, FullQueueAcceptsNothingFromTheBatch) {
  auto o = options();
  o.capacity = 3;
  auto q = open_queue(o);
  ASSERT_TRUE(q->enqueue(std::vector{make_notification("a"), make_notification("b")}).ok());
  auto r = q->enqueue(std::vector{make_notification("c"), make_notification("d")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::resource_exhausted);
  EXPECT_NE(r.error().message.find("queue full"), std::string::npos);
  EXPECT_FALSE(q->status("c").value());  // all or nothing
  EXPECT_EQ(q->depth().value(), 2u);
  EXPECT_TRUE(q->enqueue(std::vector{make_notification("c")}).ok());
}

TEST_P(QueueContract, LeaseOfADeadHostIsRetriedAfterReopening) {
  auto o = options();
  // Redis takes a dead consumer's entries over by its own idle time: real time, so a lease short enough to wait
  // for, long enough that it cannot run out between the crash and the first look of the survivor.
  o.lease = GetParam().takeover_by_clock ? 100ms : 1500ms;
  {
    auto q = open_queue(o, "crashing-host");
    ASSERT_TRUE(q->enqueue(std::vector{make_notification("a"), make_notification("b")}).ok());
    ASSERT_EQ(q->lease(10)->size(), 2u);
    // The "host" dies here with both in flight.
  }
  auto q = open_queue(o, "surviving-host");
  EXPECT_TRUE(q->lease(10)->empty());  // leases still valid
  clock_->advance(o.lease);
  std::set<std::string> taken;
  const bool all = notify::testing::wait_until(
      [&] {
        auto got = q->lease(10);
        if (got.ok()) {
          for (const auto& l : *got) taken.insert(l.notification.request_id);
        }
        return taken.size() == 2;
      },
      GetParam().takeover_by_clock ? 0ms : 10s, 20ms);
  EXPECT_TRUE(all) << taken.size() << " of 2 taken over";
  EXPECT_EQ(q->depth().value(), 2u);
}

TEST_P(QueueContract, RetentionPurgesFinishedRecordsButKeepsDeadAndUnfinished) {
  auto o = options();
  o.retention = 100ms;
  o.max_attempts = 1;
  auto q = open_queue(o);
  ASSERT_TRUE(q->enqueue(std::vector{make_notification("done"), make_notification("refused"), make_notification("dead"),
                                     make_notification("waiting")})
                  .ok());
  auto leased = q->lease(3);
  ASSERT_EQ(leased->size(), 3u);
  std::map<std::string, DeliveryResult> outcome = {{"done", DeliveryResult::delivered("d")},
                                                   {"refused", DeliveryResult::rejected("bad")},
                                                   {"dead", DeliveryResult::retryable("503")}};
  for (const auto& l : *leased) {
    auto it = outcome.find(l.notification.request_id);
    ASSERT_NE(it, outcome.end()) << l.notification.request_id;
    ASSERT_TRUE(q->complete(it->first, it->second).ok());
  }
  clock_->advance(99ms);
  EXPECT_EQ(q->purge_finished().value(), 0u);  // too recent
  clock_->advance(2ms);
  EXPECT_EQ(q->purge_finished().value(), 2u);
  EXPECT_FALSE(q->status("done").value());
  EXPECT_FALSE(q->status("refused").value());
  EXPECT_TRUE(q->status("dead").value());     // operators still need it
  EXPECT_TRUE(q->status("waiting").value());  // unfinished
  EXPECT_GT((*leased)[0].accepted_ms, 0);
}

// What the callbacks rely on to survive a crash between the queue's commit and their own: each outcome made final is
// noted in the same write, and the note outlives a restart until it is cleared.
TEST_P(QueueContract, FinalOutcomesStayNotedAsUnannouncedUntilMarkedAcrossAReopen) {
  auto o = options();
  o.max_attempts = 2;
  o.track_unannounced = true;
  std::set<std::string> noted;
  {
    auto q = open_queue(o);
    ASSERT_TRUE(q->enqueue(std::vector{make_notification("done"), make_notification("refused"),
                                       make_notification("dies"), make_notification("retried")})
                    .ok());
    ASSERT_EQ(q->lease(4)->size(), 4u);
    ASSERT_TRUE(q->enqueue(std::vector{make_notification("waiting")}).ok());
    const std::vector<std::pair<std::string, DeliveryResult>> batch = {{"done", DeliveryResult::delivered("d")},
                                                                       {"refused", DeliveryResult::rejected("bad")},
                                                                       {"dies", DeliveryResult::retryable("503")},
                                                                       {"retried", DeliveryResult::retryable("503")}};
    ASSERT_TRUE(q->complete_batch(batch).ok());
    EXPECT_EQ(q->unannounced_ids(10).value().size(), 2u);  // done, refused; the other two are queued again
    clock_->advance(1h);
    auto again = q->lease(4).value();
    ASSERT_EQ(again.size(), 3u);  // dies, retried (backoff over) and waiting
    ASSERT_TRUE(q->complete("dies", DeliveryResult::retryable("503")).ok());  // its last attempt: dead
    ASSERT_TRUE(q->complete("retried", DeliveryResult::retryable("503")).ok());
    ASSERT_EQ(q->status("retried").value()->state, State::dead);
    ASSERT_TRUE(q->retry_dead("retried").ok());  // an operator retried it: still noted, no longer final
    const auto ids = q->unannounced_ids(10).value();
    noted.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(noted, (std::set<std::string>{"done", "refused", "dies", "retried"}));  // never "waiting"
  auto q = open_queue(o);  // a restarted host finds the same notes
  const auto after = q->unannounced_ids(10).value();
  EXPECT_EQ(std::set<std::string>(after.begin(), after.end()), noted);
  // Slices of `limit`, each cleared before the next is asked for, reach every one.
  auto first = q->unannounced_ids(3).value();
  ASSERT_EQ(first.size(), 3u);
  ASSERT_TRUE(q->mark_announced(first).ok());
  auto rest = q->unannounced_ids(3).value();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(std::count(first.begin(), first.end(), rest[0]), 0);
  ASSERT_TRUE(q->mark_announced(rest).ok());
  EXPECT_TRUE(q->unannounced_ids(10).value().empty());
  ASSERT_TRUE(q->mark_announced(rest).ok());  // clearing twice is harmless
}

TEST_P(QueueContract, NothingIsNotedUnannouncedWhenNoOneAnnounces) {
  auto q = open_queue();  // track_unannounced off: no callbacks configured
  ASSERT_TRUE(q->enqueue(std::vector{make_notification("a")}).ok());
  ASSERT_EQ(q->lease(1)->size(), 1u);
  ASSERT_TRUE(q->complete("a", DeliveryResult::delivered("d")).ok());
  EXPECT_TRUE(q->unannounced_ids(10).value().empty());
}

TEST_P(QueueContract, ConcurrentWritersShareCommitsAndLoseNothing) {
  // Ingress threads enqueue while dispatch workers lease and complete: every notification is stored once, leased
  // once, finished once, whatever groups the commits formed.
  auto q = open_queue();
  // 96 in all: under the fixture's capacity (100), so no enqueue is refused however far the workers lag.
  constexpr int kWriters = 8, kPerWriter = 12;
  std::vector<std::thread> threads;
  std::atomic<int> enqueue_failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        const std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
        if (auto e = q->enqueue(std::vector{make_notification(id)}); !e.ok()) {
          ++enqueue_failures;
          ADD_FAILURE() << "enqueue " << id << ": " << e.error().message;
        }
      }
    });
  }
  std::mutex mu;
  std::multiset<std::string> leased_ids;
  std::atomic<int> complete_failures{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::thread> workers;
  for (int k = 0; k < 4; ++k) {
    workers.emplace_back([&] {
      for (;;) {
        const bool last_round = writers_done.load();
        auto leased = q->lease(7);
        if (!leased.ok()) {
          ++complete_failures;
          ADD_FAILURE() << "lease: " << leased.error().message;
          return;
        }
        if (leased->empty()) {
          if (last_round) return;
          std::this_thread::yield();
          continue;
        }
        std::vector<std::pair<std::string, DeliveryResult>> outcomes;
        for (auto& l : *leased) outcomes.emplace_back(l.notification.request_id, DeliveryResult::delivered("ok"));
        if (auto done = q->complete_batch(outcomes); !done.ok()) {
          ++complete_failures;
          ADD_FAILURE() << "complete: " << done.error().message;
        }
        std::lock_guard lock(mu);
        for (auto& o : outcomes) leased_ids.insert(o.first);
      }
    });
  }
  for (auto& t : threads) t.join();
  writers_done = true;
  for (auto& t : workers) t.join();
  EXPECT_EQ(enqueue_failures.load(), 0);
  EXPECT_EQ(complete_failures.load(), 0);
  EXPECT_EQ(leased_ids.size(), static_cast<std::size_t>(kWriters * kPerWriter));  // each leased once
  EXPECT_EQ(std::set<std::string>(leased_ids.begin(), leased_ids.end()).size(), leased_ids.size());
  EXPECT_EQ(q->depth().value(), 0u);
  EXPECT_EQ(q->status("w3-11").value()->state, State::delivered);
  for (int w = 0; w < kWriters; ++w)
    for (int i = 0; i < kPerWriter; ++i) {
      const std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
      if (!leased_ids.count(id))
        ADD_FAILURE() << id << " never leased; state " << state_name(q->status(id).value()->state);
    }
}
