#pragma once
// NotificationQueue on SQLite (the embedded default): WAL journal, synchronous=FULL so an accepted notification is on
// disk when enqueue() returns. Writes from concurrent callers (ingress threads, dispatch workers) are group-committed:
// each runs in its own savepoint inside one shared transaction, so one fsync covers all of them and one failing
// write rolls back alone. The unfinished count (capacity, depth) is kept by triggers in the same transactions, so
// it is O(1) to read and can never drift from the rows.

#include "parent/queue/notification_queue.hpp"

#include <notify/toolkit/group_commit.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

struct sqlite3;
struct sqlite3_stmt;

namespace notify::delivery {

class SqliteQueue final : public NotificationQueue {
 public:
  static Result<std::unique_ptr<SqliteQueue>> open(const std::filesystem::path& path, QueueOptions options);
  ~SqliteQueue() override;

  Result<std::vector<Enqueued>> enqueue(std::span<const Notification> batch) override;
  Result<std::vector<Leased>> lease(std::size_t max) override;
  Status complete(const std::string& request_id, const DeliveryResult& result) override;
  /// One transaction (one fsync) for the whole batch.
  Result<std::vector<State>> complete_batch(std::span<const std::pair<std::string, DeliveryResult>> results) override;
  Result<std::optional<Record>> status(const std::string& request_id) override;
  Result<std::vector<std::string>> dead_ids(std::size_t limit) override;
  Status retry_dead(const std::string& request_id) override;
  Result<std::vector<std::string>> unannounced_ids(std::size_t limit) override;
  /// A non-durable write (synchronous=NORMAL), group-committed with the others.
  Status mark_announced(std::span<const std::string> request_ids) override;
  Result<std::size_t> depth() override;
  Result<std::size_t> purge_finished() override;

 private:
  /// One write: `apply` runs inside the group's transaction on the leader's thread and returns its own verdict.
  struct Write {
    std::function<Status()> apply;
    bool durable = true;  // false: may be lost in a power cut without breaking a promise (leases)
    Status status;
  };

  SqliteQueue(sqlite3* db, QueueOptions options);
  Status exec(const char* sql);
  /// Runs `apply` as part of the next group commit; its status, or the commit's failure.
  Status write(std::function<Status()> apply, bool durable = true);
  void commit_group(std::span<Write* const> group);  // the GroupCommit runner; takes mu_
  /// A prepared statement for `sql` (a string literal: cached by address), reset and unbound. Caller holds mu_.
  Result<sqlite3_stmt*> statement(const char* sql);
  Result<State> complete_locked(const std::string& request_id, const DeliveryResult& result);  // inside a transaction
  Result<std::size_t> unfinished_locked();
  /// The request_ids `sql` (a cached literal, one `LIMIT ?` parameter) selects, at most `limit`. Takes mu_.
  Result<std::vector<std::string>> select_ids(const char* sql, std::size_t limit);
  void reset_statements() noexcept;  // caller holds mu_

  struct DbClose {
    void operator()(sqlite3* db) const noexcept;
  };
  struct StmtFinalize {
    void operator()(sqlite3_stmt* s) const noexcept;
  };
  std::unique_ptr<sqlite3, DbClose> db_;
  QueueOptions options_;
  std::mutex mu_;  // one connection, used by one thread at a time (the group's leader, or a reader)
  std::map<const char*, std::unique_ptr<sqlite3_stmt, StmtFinalize>> statements_;  // guarded by mu_; before db_ dies
  bool synchronous_full_ = true;  // the connection's current PRAGMA synchronous; guarded by mu_
  toolkit::Rng rng_{toolkit::random_seed()};
  toolkit::GroupCommit<Write> group_{[this](std::span<Write* const> g) { commit_group(g); }};
};

}  // namespace notify::delivery
