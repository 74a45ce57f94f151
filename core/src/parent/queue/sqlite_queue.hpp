#pragma once
// NotificationQueue on SQLite (the embedded default): WAL journal, synchronous=FULL so an accepted notification is on
// disk when enqueue() returns, one transaction per operation, prepared statements, RAII handles.

#include "parent/queue/notification_queue.hpp"

#include <filesystem>
#include <memory>
#include <mutex>

struct sqlite3;

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
  Result<std::size_t> depth() override;
  Result<std::size_t> purge_finished() override;

 private:
  SqliteQueue(sqlite3* db, QueueOptions options);
  Status exec(const char* sql);
  Result<State> complete_locked(const std::string& request_id, const DeliveryResult& result);  // inside a transaction

  struct DbClose {
    void operator()(sqlite3* db) const noexcept;
  };
  std::unique_ptr<sqlite3, DbClose> db_;
  QueueOptions options_;
  std::mutex mu_;  // one connection, used by one thread at a time
  toolkit::Rng rng_{toolkit::random_seed()};
};

}  // namespace notify::delivery
