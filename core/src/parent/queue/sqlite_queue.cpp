#include "parent/queue/sqlite_queue.hpp"

#include "parent/queue/notification_record.hpp"

#include <sqlite3.h>

#include <algorithm>

namespace notify::delivery {
namespace {

struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

Result<Stmt> prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return Error{Errc::internal, std::string("queue: ") + sqlite3_errmsg(db)};
  }
  return Stmt(raw);
}

void bind(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind(sqlite3_stmt* s, int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }

Error db_error(sqlite3* db) { return Error{Errc::io_error, std::string("queue: ") + sqlite3_errmsg(db)}; }

// Commits on success, rolls back otherwise.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    ok_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~Transaction() {
    if (ok_ && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  [[nodiscard]] bool began() const { return ok_; }
  bool commit() {
    done_ = true;
    return sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  }

 private:
  sqlite3* db_;
  bool ok_ = false;
  bool done_ = false;
};

}  // namespace

void SqliteQueue::DbClose::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }

SqliteQueue::SqliteQueue(sqlite3* db, QueueOptions options) : db_(db), options_(std::move(options)) {
  if (!options_.clock) options_.clock = toolkit::real_clock();
}
SqliteQueue::~SqliteQueue() = default;

Status SqliteQueue::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Error{Errc::io_error, std::string("queue: ") + msg};
  }
  return {};
}

Result<std::unique_ptr<SqliteQueue>> SqliteQueue::open(const std::filesystem::path& path, QueueOptions options) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  std::unique_ptr<SqliteQueue> q(
      new SqliteQueue(raw, std::move(options)));  // private constructor; owns raw even on failure
  if (rc != SQLITE_OK) {
    return Error{Errc::io_error, "queue " + path.string() + ": " + (raw ? sqlite3_errmsg(raw) : "cannot open")};
  }
  sqlite3_busy_timeout(raw, 5000);
  for (const char* sql : {
           "PRAGMA journal_mode=WAL",
           "PRAGMA synchronous=FULL",  // durable when enqueue() returns: what a 202 promises
           "CREATE TABLE IF NOT EXISTS notifications (request_id TEXT PRIMARY KEY, body TEXT NOT NULL, "
           "state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL, "
           "lease_until_ms INTEGER NOT NULL DEFAULT 0, reference TEXT NOT NULL DEFAULT '', "
           "reason TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL)",
           "CREATE INDEX IF NOT EXISTS notifications_due ON notifications(state, next_attempt_ms)",
           "CREATE TABLE IF NOT EXISTS attempts (request_id TEXT NOT NULL, at_ms INTEGER NOT NULL, "
           "outcome TEXT NOT NULL, detail TEXT NOT NULL)",
           "CREATE INDEX IF NOT EXISTS attempts_by_id ON attempts(request_id)",
       }) {
    if (auto st = q->exec(sql); !st) return Error{st.code(), "queue " + path.string() + ": " + st.message()};
  }
  return q;
}

Result<std::vector<Enqueued>> SqliteQueue::enqueue(std::span<const Notification> batch) {
  std::lock_guard lock(mu_);
  sqlite3* db = db_.get();
  Transaction tx(db);
  if (!tx.began()) return db_error(db);
  auto find = prepare(db, "SELECT state FROM notifications WHERE request_id = ?");
  auto insert = prepare(db,
                        "INSERT INTO notifications (request_id, body, state, attempts, next_attempt_ms, created_ms, "
                        "updated_ms) VALUES (?, ?, 'queued', 0, ?, ?, ?)");
  auto count = prepare(db, "SELECT COUNT(*) FROM notifications WHERE state IN ('queued', 'in_flight')");
  if (!find || !insert || !count) return Error{Errc::internal, "queue: cannot prepare statements"};
  if (sqlite3_step(count->get()) != SQLITE_ROW) return db_error(db);
  const auto unfinished = static_cast<std::size_t>(sqlite3_column_int64(count->get(), 0));
  std::vector<Enqueued> out;
  std::size_t fresh = 0;
  const auto now = options_.clock->epoch_ms();
  for (const auto& n : batch) {
    sqlite3_reset(find->get());
    bind(find->get(), 1, n.request_id);
    if (sqlite3_step(find->get()) == SQLITE_ROW) {
      out.push_back({n.request_id, true, parse_state(column_text(find->get(), 0)).value_or(State::queued)});
      continue;
    }
    // The same id twice in one batch is one notification.
    if (std::any_of(out.begin(), out.end(), [&](const Enqueued& e) { return e.request_id == n.request_id; })) {
      out.push_back({n.request_id, true, State::queued});
      continue;
    }
    sqlite3_reset(insert->get());
    bind(insert->get(), 1, n.request_id);
    bind(insert->get(), 2, encode_notification_record(n));
    bind(insert->get(), 3, now);
    bind(insert->get(), 4, now);
    bind(insert->get(), 5, now);
    if (sqlite3_step(insert->get()) != SQLITE_DONE) return db_error(db);
    out.push_back({n.request_id, false, State::queued});
    ++fresh;
  }
  if (unfinished + fresh > options_.capacity) {
    return Error{Errc::resource_exhausted, "queue full: " + std::to_string(unfinished) + " unfinished of " +
                                               std::to_string(options_.capacity) +
                                               "; nothing from this batch was accepted"};
  }
  if (!tx.commit()) return db_error(db);
  return out;
}

Result<std::vector<Leased>> SqliteQueue::lease(std::size_t max) {
  std::lock_guard lock(mu_);
  sqlite3* db = db_.get();
  Transaction tx(db);
  if (!tx.began()) return db_error(db);
  const auto now = options_.clock->epoch_ms();
  // Due queued items, and in-flight items whose lease ran out (their host died or lost the link).
  auto due = prepare(db,
                     "SELECT request_id, body, attempts, created_ms FROM notifications WHERE (state = 'queued' AND "
                     "next_attempt_ms <= ?1) OR (state = 'in_flight' AND lease_until_ms <= ?1) "
                     "ORDER BY next_attempt_ms LIMIT ?2");
  auto mark = prepare(db,
                      "UPDATE notifications SET state = 'in_flight', lease_until_ms = ?, updated_ms = ? "
                      "WHERE request_id = ?");
  if (!due || !mark) return Error{Errc::internal, "queue: cannot prepare statements"};
  bind(due->get(), 1, now);
  bind(due->get(), 2, static_cast<std::int64_t>(max));
  std::vector<Leased> out;
  while (sqlite3_step(due->get()) == SQLITE_ROW) {
    auto n = decode_notification_record(column_text(due->get(), 1));
    if (!n)
      return Error{Errc::internal,
                   "queue: stored notification " + column_text(due->get(), 0) + " unreadable: " + n.error().message};
    out.push_back({std::move(n.value()), sqlite3_column_int(due->get(), 2), sqlite3_column_int64(due->get(), 3)});
  }
  for (const auto& l : out) {
    sqlite3_reset(mark->get());
    bind(mark->get(), 1, now + options_.lease.count());
    bind(mark->get(), 2, now);
    bind(mark->get(), 3, l.notification.request_id);
    if (sqlite3_step(mark->get()) != SQLITE_DONE) return db_error(db);
  }
  if (!tx.commit()) return db_error(db);
  return out;
}

Result<State> SqliteQueue::complete_locked(const std::string& request_id, const DeliveryResult& result) {
  sqlite3* db = db_.get();
  auto get = prepare(db, "SELECT attempts, state FROM notifications WHERE request_id = ?");
  if (!get) return get.error();
  bind(get->get(), 1, request_id);
  if (sqlite3_step(get->get()) != SQLITE_ROW) return Error{Errc::not_found, "queue: no notification " + request_id};
  const int attempts = sqlite3_column_int(get->get(), 0) + 1;
  const auto now = options_.clock->epoch_ms();
  std::string state;
  std::int64_t next = now;
  switch (result.outcome) {
    case Outcome::delivered:
      state = "delivered";
      break;
    case Outcome::rejected:
      state = "rejected";
      break;
    case Outcome::retryable:
      if (attempts >= options_.max_attempts) {
        state = "dead";
      } else {
        state = "queued";
        next = now + retry_delay(options_, attempts, result.retry_after, rng_).count();
      }
      break;
  }
  auto update = prepare(db,
                        "UPDATE notifications SET state = ?, attempts = ?, next_attempt_ms = ?, lease_until_ms = 0, "
                        "reference = CASE WHEN ? != '' THEN ? ELSE reference END, reason = ?, updated_ms = ? "
                        "WHERE request_id = ?");
  auto history = prepare(db, "INSERT INTO attempts (request_id, at_ms, outcome, detail) VALUES (?, ?, ?, ?)");
  if (!update || !history) return Error{Errc::internal, "queue: cannot prepare statements"};
  bind(update->get(), 1, state);
  bind(update->get(), 2, static_cast<std::int64_t>(attempts));
  bind(update->get(), 3, next);
  bind(update->get(), 4, result.reference);
  bind(update->get(), 5, result.reference);
  bind(update->get(), 6, result.reason);
  bind(update->get(), 7, now);
  bind(update->get(), 8, request_id);
  if (sqlite3_step(update->get()) != SQLITE_DONE) return db_error(db);
  bind(history->get(), 1, request_id);
  bind(history->get(), 2, now);
  bind(history->get(), 3, std::string(outcome_name(result.outcome)));
  bind(history->get(), 4, result.outcome == Outcome::delivered ? result.reference : result.reason);
  if (sqlite3_step(history->get()) != SQLITE_DONE) return db_error(db);
  return parse_state(state).value_or(State::queued);
}

Status SqliteQueue::complete(const std::string& request_id, const DeliveryResult& result) {
  const std::pair<std::string, DeliveryResult> one{request_id, result};
  return complete_batch(std::span(&one, 1)).status();
}

Result<std::vector<State>> SqliteQueue::complete_batch(
    std::span<const std::pair<std::string, DeliveryResult>> results) {
  std::lock_guard lock(mu_);
  Transaction tx(db_.get());
  if (!tx.began()) return db_error(db_.get());
  std::vector<State> states;
  states.reserve(results.size());
  for (const auto& [id, r] : results) {
    auto state = complete_locked(id, r);
    if (!state) return state.error();  // rolls the whole batch back
    states.push_back(*state);
  }
  if (!tx.commit()) return db_error(db_.get());
  return states;
}

Result<std::optional<Record>> SqliteQueue::status(const std::string& request_id) {
  std::lock_guard lock(mu_);
  sqlite3* db = db_.get();
  auto get = prepare(
      db, "SELECT body, state, attempts, reference, reason, next_attempt_ms FROM notifications WHERE request_id = ?");
  auto hist = prepare(db, "SELECT at_ms, outcome, detail FROM attempts WHERE request_id = ? ORDER BY rowid");
  if (!get || !hist) return Error{Errc::internal, "queue: cannot prepare statements"};
  bind(get->get(), 1, request_id);
  if (sqlite3_step(get->get()) != SQLITE_ROW) return std::optional<Record>{};
  Record r;
  auto n = decode_notification_record(column_text(get->get(), 0));
  if (!n) return n.error();
  r.notification = std::move(n.value());
  r.state = parse_state(column_text(get->get(), 1)).value_or(State::queued);
  r.attempts = sqlite3_column_int(get->get(), 2);
  r.reference = column_text(get->get(), 3);
  r.reason = column_text(get->get(), 4);
  r.next_attempt_ms = sqlite3_column_int64(get->get(), 5);
  bind(hist->get(), 1, request_id);
  while (sqlite3_step(hist->get()) == SQLITE_ROW) {
    r.history.push_back(
        {sqlite3_column_int64(hist->get(), 0), column_text(hist->get(), 1), column_text(hist->get(), 2)});
  }
  return std::optional<Record>(std::move(r));
}

Result<std::vector<std::string>> SqliteQueue::dead_ids(std::size_t limit) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    auto q =
        prepare(db_.get(), "SELECT request_id FROM notifications WHERE state = 'dead' ORDER BY updated_ms LIMIT ?");
    if (!q) return q.error();
    bind(q->get(), 1, static_cast<std::int64_t>(limit));
    while (sqlite3_step(q->get()) == SQLITE_ROW) ids.push_back(column_text(q->get(), 0));
  }
  return ids;
}

Status SqliteQueue::retry_dead(const std::string& request_id) {
  std::lock_guard lock(mu_);
  auto q = prepare(db_.get(),
                   "UPDATE notifications SET state = 'queued', attempts = 0, next_attempt_ms = ?, "
                   "updated_ms = ? WHERE request_id = ? AND state = 'dead'");
  if (!q) return q.error();
  const auto now = options_.clock->epoch_ms();
  bind(q->get(), 1, now);
  bind(q->get(), 2, now);
  bind(q->get(), 3, request_id);
  if (sqlite3_step(q->get()) != SQLITE_DONE) return db_error(db_.get());
  if (sqlite3_changes(db_.get()) == 0) return Error{Errc::not_found, "queue: no dead notification " + request_id};
  return {};
}

Result<std::size_t> SqliteQueue::purge_finished() {
  std::lock_guard lock(mu_);
  sqlite3* db = db_.get();
  Transaction tx(db);
  if (!tx.began()) return db_error(db);
  const auto cutoff = options_.clock->epoch_ms() - options_.retention.count();
  auto history = prepare(db,
                         "DELETE FROM attempts WHERE request_id IN (SELECT request_id FROM notifications WHERE "
                         "state IN ('delivered', 'rejected') AND updated_ms < ?)");
  auto rows = prepare(db, "DELETE FROM notifications WHERE state IN ('delivered', 'rejected') AND updated_ms < ?");
  if (!history || !rows) return Error{Errc::internal, "queue: cannot prepare statements"};
  bind(history->get(), 1, cutoff);
  bind(rows->get(), 1, cutoff);
  if (sqlite3_step(history->get()) != SQLITE_DONE || sqlite3_step(rows->get()) != SQLITE_DONE) return db_error(db);
  const auto removed = static_cast<std::size_t>(sqlite3_changes(db));
  if (!tx.commit()) return db_error(db);
  return removed;
}

Result<std::size_t> SqliteQueue::depth() {
  std::lock_guard lock(mu_);
  auto q = prepare(db_.get(), "SELECT COUNT(*) FROM notifications WHERE state IN ('queued', 'in_flight')");
  if (!q) return q.error();
  if (sqlite3_step(q->get()) != SQLITE_ROW) return db_error(db_.get());
  return static_cast<std::size_t>(sqlite3_column_int64(q->get(), 0));
}

}  // namespace notify::delivery
