#pragma once
// The durable outbox of delivery callbacks: one SQLite file (WAL, synchronous=FULL) holding every event until the
// receiver has answered 2xx. The dispatcher only appends here (a local write, never a network call), and the sender
// drains it: it leases due events, and each one is either acknowledged (deleted) or failed (retried with capped
// exponential backoff, or given up after max_attempts when that is not 0).
//
// Leases live in memory only: one parent process owns its outbox file, so a lease just keeps two sender workers off
// the same event. After a crash every event still in the file is due again: delivery to the receiver is at least
// once, and the event's id (its webhook-id) is what a receiver deduplicates on.

#include <notify/result.hpp>
#include <notify/toolkit/backoff.hpp>
#include <notify/toolkit/clock.hpp>
#include <notify/toolkit/group_commit.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace notify::callbacks {

struct OutboxEvent {
  std::string id;    ///< stable across retries: the webhook-id ("<request_id>:<state>")
  std::string url;   ///< where to POST it; empty = the configured callbacks.url
  std::string body;  ///< the JSON payload, signed again (with a fresh timestamp) at each attempt
  int attempts = 0;  ///< failed attempts so far
};

struct OutboxOptions {
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{300000};
  int max_attempts = 0;  ///< 0: keep trying until acknowledged
  std::shared_ptr<const toolkit::Clock> clock = toolkit::real_clock();
};

enum class FailVerdict { retrying, given_up };

class CallbackOutbox {
 public:
  static Result<std::unique_ptr<CallbackOutbox>> open(const std::filesystem::path& path, OutboxOptions options);
  ~CallbackOutbox();
  CallbackOutbox(const CallbackOutbox&) = delete;
  CallbackOutbox& operator=(const CallbackOutbox&) = delete;

  /// Stores the events, due now, durably before it returns. Concurrent appends (the dispatch window's workers) are
  /// group-committed: one transaction and one fsync for all that wait meanwhile. An id already waiting is kept as it
  /// is (the same outcome recorded twice, e.g. after a lease expired, is one event).
  Status append(std::span<const OutboxEvent> events);
  /// Up to `max` due events not leased by another caller, oldest due first; they stay leased until ack() or fail().
  Result<std::vector<OutboxEvent>> lease(std::size_t max);
  /// The receiver acknowledged `id`: it is deleted.
  Status ack(const std::string& id);
  /// An attempt at `id` failed: due again after the backoff of its attempt count, or deleted when max_attempts is
  /// reached (given_up).
  Result<FailVerdict> fail(const std::string& id, const std::string& error);
  /// Events waiting (leased or not): counted once at open, then kept in memory, so reading it (after every dispatch
  /// batch, for the gauge) costs nothing however long the backlog.
  Result<std::size_t> pending();

  /// Per-notification callback URLs (callbacks.allow_per_notification_url), stored by the ingress before it enqueues
  /// the notifications, so that a 202 never outlives its URL. A request_id already known keeps its first URL, as
  /// the queue keeps its first notification.
  Status remember_urls(std::span<const std::pair<std::string, std::string>> urls);
  /// The URL stored for `request_id`, or empty.
  Result<std::string> url_for(const std::string& request_id);
  /// Drops the URLs of notifications that will not produce another event (delivered, rejected; a dead one can be
  /// retried by an operator and die again, so its URL stays).
  Status forget_urls(std::span<const std::string> request_ids);

 private:
  struct Append {
    std::span<const OutboxEvent> events;
    Status status;
  };

  CallbackOutbox(sqlite3* db, OutboxOptions options);
  void commit_appends(std::span<Append* const> group);  // the GroupCommit runner; takes mu_
  Status exec(const char* sql);
  void release(const std::string& id);  // caller holds mu_

  struct DbClose {
    void operator()(sqlite3* db) const noexcept;
  };
  std::unique_ptr<sqlite3, DbClose> db_;
  OutboxOptions options_;
  std::mutex mu_;  // the connection, leased_ and pending_
  std::set<std::string> leased_;
  std::size_t pending_ = 0;
  toolkit::Rng rng_{toolkit::random_seed()};
  toolkit::GroupCommit<Append> appends_{[this](std::span<Append* const> g) { commit_appends(g); }};
};

}  // namespace notify::callbacks
