#pragma once
// NotificationQueue on Redis Streams, for several parent hosts sharing one queue.
//
// Keys under a prefix P:
//   P:stream        stream of ready work (field "id" = request_id), read through consumer group G
//   P:n:<id>        hash: body, state, attempts, reference, reason, next_attempt_ms
//   P:h:<id>        list: attempt history (JSON)
//   P:open          set of unfinished ids (depth and capacity)
//   P:delayed       zset id → due ms: retries waiting for their backoff
//   P:dead          zset id → time it died
//   P:finished      zset id → time it was delivered or rejected (for retention)
//   P:unannounced   set of final ids whose outcome is not yet handed to the callbacks (track_unannounced); shared
//                   by every parent, so one that starts also offers what others are handing on at that moment
// Enqueue is one Lua script (atomic: capacity, idempotency, all or nothing); concurrent enqueues and completions are
// pipelined together (group commit: one pass, one fsync under appendfsync always). A consumer leases with XREADGROUP;
// the entries a crashed consumer held stay pending and are taken over with XAUTOCLAIM once idle longer than the lease.
// Durability is Redis's: run it with appendonly yes and appendfsync always for "durable on 202".
// A connection that breaks (Redis restarted, a network cut) is replaced on the next call, at most once per backoff
// step (250 ms doubling to 5 s); until then every call fails naming Redis, which the ingress's /readyz reports.

#include "parent/queue/notification_queue.hpp"

#include <notify/toolkit/group_commit.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>

struct redisContext;

namespace notify::delivery {

struct RedisOptions {
  std::string address = "127.0.0.1:6379";  // host:port, or a unix socket path starting with '/'
  std::string prefix = "notify";
  std::string group = "notify-parents";
  std::string consumer;  // default: hostname:pid
};

class RedisQueue final : public NotificationQueue {
 public:
  static Result<std::unique_ptr<RedisQueue>> open(RedisOptions redis, QueueOptions options);
  ~RedisQueue() override;

  Result<std::vector<Enqueued>> enqueue(std::span<const Notification> batch) override;
  Result<std::vector<Leased>> lease(std::size_t max) override;
  Status complete(const std::string& request_id, const DeliveryResult& result) override;
  /// Pipelined, and group-committed with concurrent callers: every outcome goes out before any reply is read, so
  /// Redis commits them together.
  Result<std::vector<State>> complete_batch(std::span<const std::pair<std::string, DeliveryResult>> results) override;
  Result<std::optional<Record>> status(const std::string& request_id) override;
  Result<std::vector<std::string>> dead_ids(std::size_t limit) override;
  Status retry_dead(const std::string& request_id) override;
  Result<std::vector<std::string>> unannounced_ids(std::size_t limit) override;
  Status mark_announced(std::span<const std::string> request_ids) override;
  Result<std::size_t> depth() override;
  Result<std::size_t> purge_finished() override;

 private:
  struct EnqueueJob {
    std::span<const Notification> batch;
    Result<std::vector<Enqueued>> result;
  };
  struct CompleteJob {
    std::span<const std::pair<std::string, DeliveryResult>> results;
    Result<std::vector<State>> result;
  };
  // Concurrent enqueues (ingress threads) and completions (dispatch workers) go out as one pipeline each.
  void enqueue_group(std::span<EnqueueJob* const> group);
  void complete_group(std::span<CompleteJob* const> group);

  struct ContextFree {
    void operator()(redisContext* c) const noexcept;
  };
  /// One connection to Redis and its reconnect state. The queue keeps two: one for the dispatcher's leases (several
  /// round trips each) and one for everything else, so ingress enqueues never wait behind a lease.
  struct Link {
    std::unique_ptr<redisContext, ContextFree> ctx;  // null while Redis is unreachable
    toolkit::Backoff reconnect_backoff{std::chrono::milliseconds(250), std::chrono::milliseconds(5000)};
    std::chrono::steady_clock::time_point next_reconnect{};
    std::string last_error;
    std::mutex mu;  // one caller at a time on this connection
  };

  RedisQueue(redisContext* ctx, RedisOptions redis, QueueOptions options);
  /// A new connection to `redis.address` (5 s connect timeout, 10 s I/O timeout); the consumer group is created when
  /// missing.
  static Result<std::unique_ptr<redisContext, ContextFree>> connect(const RedisOptions& redis,
                                                                    const std::string& stream_key);
  /// The live connection of `link`, reconnected first when the last one broke (and the backoff allows). Caller holds
  /// link.mu.
  Result<redisContext*> context(Link& link);
  std::string key(const std::string& suffix) const { return redis_.prefix + ":" + suffix; }
  /// The EVAL arguments that record one outcome (shared by complete and complete_batch).
  /// `tokens`: the token states to store (encode_token_states), empty to leave them.
  std::vector<std::string> complete_args(const std::string& request_id, const DeliveryResult& result, int attempts,
                                         const std::string& tokens);

  RedisOptions redis_;
  QueueOptions options_;
  Link main_;    // enqueue, complete, status, dead letters, purge, depth
  Link leases_;  // lease only
  std::mutex entries_mu_;
  std::map<std::string, std::string> entry_of_;  // request_id → stream entry this consumer holds; entries_mu_
  std::mutex rng_mu_;
  toolkit::Rng rng_{toolkit::random_seed()};  // rng_mu_
  toolkit::GroupCommit<EnqueueJob> enqueues_{[this](std::span<EnqueueJob* const> g) { enqueue_group(g); }};
  toolkit::GroupCommit<CompleteJob> completions_{[this](std::span<CompleteJob* const> g) { complete_group(g); }};
};

}  // namespace notify::delivery
