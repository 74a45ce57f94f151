#include "parent/queue/sqlite_queue.hpp"

#include "parent/queue/notification_record.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <optional>

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

// Not "bind": with <functional> in scope, ADL on std::string would pick std::bind for an rvalue argument.
void bind_value(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind_value(sqlite3_stmt* s, int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }

Error db_error(sqlite3* db) { return Error{Errc::io_error, std::string("queue: ") + sqlite3_errmsg(db)}; }

}  // namespace

void SqliteQueue::DbClose::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
void SqliteQueue::StmtFinalize::operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }

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
           "CREATE INDEX IF NOT EXISTS notifications_leases ON notifications(state, lease_until_ms)",
           // Final outcomes not yet handed to the callbacks (QueueOptions::track_unannounced).
           "CREATE TABLE IF NOT EXISTS unannounced (request_id TEXT PRIMARY KEY) WITHOUT ROWID",
           // The unfinished count, kept by triggers inside every writing transaction (capacity and depth read it).
           "BEGIN IMMEDIATE",
           "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
           "INSERT OR IGNORE INTO counters (name, value) SELECT 'unfinished', COUNT(*) FROM notifications "
           "WHERE state IN ('queued', 'in_flight')",
           "CREATE TRIGGER IF NOT EXISTS unfinished_insert AFTER INSERT ON notifications "
           "WHEN NEW.state IN ('queued', 'in_flight') "
           "BEGIN UPDATE counters SET value = value + 1 WHERE name = 'unfinished'; END",
           "CREATE TRIGGER IF NOT EXISTS unfinished_update AFTER UPDATE OF state ON notifications "
           "WHEN (OLD.state IN ('queued', 'in_flight')) != (NEW.state IN ('queued', 'in_flight')) "
           "BEGIN UPDATE counters SET value = value + "
           "(CASE WHEN NEW.state IN ('queued', 'in_flight') THEN 1 ELSE -1 END) WHERE name = 'unfinished'; END",
           "CREATE TRIGGER IF NOT EXISTS unfinished_delete AFTER DELETE ON notifications "
           "WHEN OLD.state IN ('queued', 'in_flight') "
           "BEGIN UPDATE counters SET value = value - 1 WHERE name = 'unfinished'; END",
           "COMMIT",
       }) {
    if (auto st = q->exec(sql); !st) return Error{st.code(), "queue " + path.string() + ": " + st.message()};
  }
  // Per-token states (a JSON array, encode_token_states), added to queues created before they existed.
  auto has_tokens = prepare(raw, "SELECT COUNT(*) FROM pragma_table_info('notifications') WHERE name = 'tokens'");
  if (!has_tokens) return has_tokens.error();
  if (sqlite3_step(has_tokens->get()) != SQLITE_ROW) return db_error(raw);
  if (sqlite3_column_int(has_tokens->get(), 0) == 0) {
    has_tokens->reset();
    if (auto st = q->exec("ALTER TABLE notifications ADD COLUMN tokens TEXT NOT NULL DEFAULT ''"); !st) {
      return Error{st.code(), "queue " + path.string() + ": " + st.message()};
    }
  }
  return q;
}

Result<sqlite3_stmt*> SqliteQueue::statement(const char* sql) {
  auto& slot = statements_[sql];
  if (!slot) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
      statements_.erase(sql);
      return Error{Errc::internal, std::string("queue: ") + sqlite3_errmsg(db_.get())};
    }
    slot.reset(raw);
  }
  sqlite3_reset(slot.get());
  sqlite3_clear_bindings(slot.get());
  return slot.get();
}

Status SqliteQueue::write(std::function<Status()> apply, bool durable) {
  Write w{std::move(apply), durable, {}};
  group_.submit(w);
  return w.status;
}

void SqliteQueue::commit_group(std::span<Write* const> group) {
  std::lock_guard lock(mu_);
  sqlite3* db = db_.get();
  // A cached SELECT left mid-result would hold its WAL snapshot (and block checkpoints) until its next use.
  struct ResetAfter {
    SqliteQueue& q;
    ~ResetAfter() { q.reset_statements(); }
  } reset_after{*this};
  auto fail_all = [&](const Error& e) {
    for (Write* w : group) w->status = e;
  };
  // A group of leases (and announcement notes) only is committed without an fsync (synchronous=NORMAL: consistent,
  // possibly lost in a power cut). A lost lease only means the notification is leased again after the restart, which
  // an expired lease means anyway; the enclave's dedup answers a re-send. A lost note announces an outcome again.
  // Anything else in the group (enqueue, outcomes) makes it FULL, and that fsync also covers the lease frames before it
  // in the WAL.
  const bool full = std::any_of(group.begin(), group.end(), [](const Write* w) { return w->durable; });
  if (full != synchronous_full_) {
    if (sqlite3_exec(db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr) !=
        SQLITE_OK)
      return fail_all(db_error(db));
    synchronous_full_ = full;
  }
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return fail_all(db_error(db));
  for (std::size_t i = 0; i < group.size(); ++i) {
    Write* w = group[i];
    if (sqlite3_exec(db, "SAVEPOINT one_write", nullptr, nullptr, nullptr) != SQLITE_OK) {
      w->status = db_error(db);
    } else {
      try {
        w->status = w->apply();
      } catch (const std::exception& e) {  // bad_alloc; the write's own errors come back as a Status
        w->status = Error{Errc::internal, std::string("queue: ") + e.what()};
      }
      if (sqlite3_get_autocommit(db)) {
        // SQLite rolled the whole transaction back (I/O error, disk full): nothing of this group is stored, and the
        // writes not yet run must not run outside a transaction.
        const Error e = w->status ? db_error(db) : w->status.error();
        return fail_all(e);
      }
      if (!w->status) sqlite3_exec(db, "ROLLBACK TO one_write", nullptr, nullptr, nullptr);
      sqlite3_exec(db, "RELEASE one_write", nullptr, nullptr, nullptr);
    }
  }
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    const Error e = db_error(db);
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    fail_all(e);
  }
}

Result<std::size_t> SqliteQueue::unfinished_locked() {
  auto q = statement("SELECT value FROM counters WHERE name = 'unfinished'");
  if (!q) return q.error();
  if (sqlite3_step(*q) != SQLITE_ROW) return db_error(db_.get());
  return static_cast<std::size_t>(std::max<sqlite3_int64>(0, sqlite3_column_int64(*q, 0)));
}

Result<std::vector<Enqueued>> SqliteQueue::enqueue(std::span<const Notification> batch) {
  std::vector<Enqueued> out;
  auto stored = write([&]() -> Status {
    out.clear();
    sqlite3* db = db_.get();
    auto unfinished = unfinished_locked();
    if (!unfinished) return unfinished.error();
    std::size_t fresh = 0;
    const auto now = options_.clock->epoch_ms();
    for (const auto& n : batch) {
      auto find = statement("SELECT state FROM notifications WHERE request_id = ?");
      if (!find) return find.error();
      bind_value(*find, 1, n.request_id);
      if (sqlite3_step(*find) == SQLITE_ROW) {
        out.push_back({n.request_id, true, parse_state(column_text(*find, 0)).value_or(State::queued)});
        continue;
      }
      // The same id twice in one batch is one notification.
      if (std::any_of(out.begin(), out.end(), [&](const Enqueued& e) { return e.request_id == n.request_id; })) {
        out.push_back({n.request_id, true, State::queued});
        continue;
      }
      auto insert = statement(
          "INSERT INTO notifications (request_id, body, state, attempts, next_attempt_ms, created_ms, updated_ms) "
          "VALUES (?, ?, 'queued', 0, ?, ?, ?)");
      if (!insert) return insert.error();
      bind_value(*insert, 1, n.request_id);
      bind_value(*insert, 2, encode_notification_record(n));
      bind_value(*insert, 3, now);
      bind_value(*insert, 4, now);
      bind_value(*insert, 5, now);
      if (sqlite3_step(*insert) != SQLITE_DONE) return db_error(db);
      out.push_back({n.request_id, false, State::queued});
      ++fresh;
    }
    if (*unfinished + fresh > options_.capacity) {
      return Error{Errc::resource_exhausted, "queue full: " + std::to_string(*unfinished) + " unfinished of " +
                                                 std::to_string(options_.capacity) +
                                                 "; nothing from this batch was accepted"};
    }
    return {};
  });
  if (!stored) return stored.error();
  return out;
}

Result<std::vector<Leased>> SqliteQueue::lease(std::size_t max) {
  std::vector<Leased> out;
  auto leased = write(
      [&]() -> Status {
        out.clear();
        sqlite3* db = db_.get();
        const auto now = options_.clock->epoch_ms();
        // In-flight items whose lease ran out first (their host died or lost the link), then due queued items in due
        // order. Two queries, each walking its own index, so a long backlog is never sorted to take a batch.
        const char* const kQueries[] = {
            "SELECT request_id, body, attempts, created_ms, tokens FROM notifications "
            "WHERE state = 'in_flight' AND lease_until_ms <= ?1 LIMIT ?2",
            "SELECT request_id, body, attempts, created_ms, tokens FROM notifications "
            "WHERE state = 'queued' AND next_attempt_ms <= ?1 ORDER BY next_attempt_ms LIMIT ?2",
        };
        for (const char* sql : kQueries) {
          if (out.size() >= max) break;
          auto due = statement(sql);
          if (!due) return due.error();
          bind_value(*due, 1, now);
          bind_value(*due, 2, static_cast<std::int64_t>(max - out.size()));
          int rc = SQLITE_ROW;
          while ((rc = sqlite3_step(*due)) == SQLITE_ROW) {
            auto n = decode_notification_record(column_text(*due, 1));
            if (!n) {
              return Error{Errc::internal,
                           "queue: stored notification " + column_text(*due, 0) + " unreadable: " + n.error().message};
            }
            auto tokens = decode_token_states(column_text(*due, 4));
            if (!tokens) {
              return Error{Errc::internal, "queue: stored token states of " + column_text(*due, 0) +
                                               " unreadable: " + tokens.error().message};
            }
            auto invalid = keep_pending_tokens(*n, *tokens);
            out.push_back(
                {std::move(n.value()), sqlite3_column_int(*due, 2), sqlite3_column_int64(*due, 3), std::move(invalid)});
          }
          if (rc != SQLITE_DONE) return db_error(db);
        }
        for (const auto& l : out) {
          auto mark = statement(
              "UPDATE notifications SET state = 'in_flight', lease_until_ms = ?, updated_ms = ? WHERE request_id = ?");
          if (!mark) return mark.error();
          bind_value(*mark, 1, now + options_.lease.count());
          bind_value(*mark, 2, now);
          bind_value(*mark, 3, l.notification.request_id);
          if (sqlite3_step(*mark) != SQLITE_DONE) return db_error(db);
        }
        return {};
      },
      /*durable=*/false);
  if (!leased) return leased.error();
  return out;
}

Result<State> SqliteQueue::complete_locked(const std::string& request_id, const DeliveryResult& delivery) {
  sqlite3* db = db_.get();
  auto get = statement("SELECT attempts, body, tokens FROM notifications WHERE request_id = ?");
  if (!get) return get.error();
  bind_value(*get, 1, request_id);
  if (sqlite3_step(*get) != SQLITE_ROW) return Error{Errc::not_found, "queue: no notification " + request_id};
  const int attempts = sqlite3_column_int(*get, 0) + 1;
  // Per-token results: merged into the stored states, and the notification's outcome follows from all its tokens.
  std::optional<TokenMerge> merged;
  if (!delivery.tokens.empty()) {
    auto n = decode_notification_record(column_text(*get, 1));
    if (!n)
      return Error{Errc::internal, "queue: stored notification " + request_id + " unreadable: " + n.error().message};
    auto stored = decode_token_states(column_text(*get, 2));
    if (!stored) return Error{Errc::internal, "queue: token states of " + request_id + ": " + stored.error().message};
    merged = merge_token_results(*n, *stored, delivery);
    auto save = statement("UPDATE notifications SET tokens = ? WHERE request_id = ?");
    if (!save) return save.error();
    bind_value(*save, 1, encode_token_states(merged->stored));
    bind_value(*save, 2, request_id);
    if (sqlite3_step(*save) != SQLITE_DONE) return db_error(db);
  }
  const DeliveryResult& result = merged ? merged->effective : delivery;
  const auto now = options_.clock->epoch_ms();
  State state = State::queued;
  std::int64_t next = now;
  switch (result.outcome) {
    case Outcome::delivered:
      state = State::delivered;
      break;
    case Outcome::rejected:
      state = State::rejected;
      break;
    case Outcome::retryable:
      if (attempts >= options_.max_attempts) {
        state = State::dead;
      } else {
        next = now + retry_delay(options_, attempts, result.retry_after, rng_).count();
      }
      break;
  }
  auto update = statement(
      "UPDATE notifications SET state = ?, attempts = ?, next_attempt_ms = ?, lease_until_ms = 0, "
      "reference = CASE WHEN ? != '' THEN ? ELSE reference END, reason = ?, updated_ms = ? WHERE request_id = ?");
  if (!update) return update.error();
  bind_value(*update, 1, std::string(state_name(state)));
  bind_value(*update, 2, static_cast<std::int64_t>(attempts));
  bind_value(*update, 3, next);
  bind_value(*update, 4, result.reference);
  bind_value(*update, 5, result.reference);
  bind_value(*update, 6, result.reason);
  bind_value(*update, 7, now);
  bind_value(*update, 8, request_id);
  if (sqlite3_step(*update) != SQLITE_DONE) return db_error(db);
  auto history = statement("INSERT INTO attempts (request_id, at_ms, outcome, detail) VALUES (?, ?, ?, ?)");
  if (!history) return history.error();
  bind_value(*history, 1, request_id);
  bind_value(*history, 2, now);
  bind_value(*history, 3, std::string(outcome_name(result.outcome)));
  bind_value(*history, 4, result.outcome == Outcome::delivered ? result.reference : result.reason);
  if (sqlite3_step(*history) != SQLITE_DONE) return db_error(db);
  if (options_.track_unannounced && state != State::queued) {
    auto note = statement("INSERT OR IGNORE INTO unannounced (request_id) VALUES (?)");
    if (!note) return note.error();
    bind_value(*note, 1, request_id);
    if (sqlite3_step(*note) != SQLITE_DONE) return db_error(db);
  }
  return state;
}

Status SqliteQueue::complete(const std::string& request_id, const DeliveryResult& result) {
  const std::pair<std::string, DeliveryResult> one{request_id, result};
  return complete_batch(std::span(&one, 1)).status();
}

Result<std::vector<State>> SqliteQueue::complete_batch(
    std::span<const std::pair<std::string, DeliveryResult>> results) {
  std::vector<State> states;
  auto recorded = write([&]() -> Status {
    states.clear();
    states.reserve(results.size());
    for (const auto& [id, r] : results) {
      auto state = complete_locked(id, r);
      if (!state) return state.error();  // rolls this whole batch back (its savepoint), not the others in the group
      states.push_back(*state);
    }
    return {};
  });
  if (!recorded) return recorded.error();
  return states;
}

Result<std::optional<Record>> SqliteQueue::status(const std::string& request_id) {
  std::lock_guard lock(mu_);
  // Cached statements (GET /v1/notifications/{id} and the callbacks' reconciliation call this often), reset after
  // use so that no half-read result holds a WAL snapshot.
  struct ResetAfter {
    SqliteQueue& q;
    ~ResetAfter() { q.reset_statements(); }
  } reset_after{*this};
  auto get = statement(
      "SELECT body, state, attempts, reference, reason, next_attempt_ms, tokens FROM notifications "
      "WHERE request_id = ?");
  if (!get) return get.error();
  bind_value(*get, 1, request_id);
  if (sqlite3_step(*get) != SQLITE_ROW) return std::optional<Record>{};
  Record r;
  auto n = decode_notification_record(column_text(*get, 0));
  if (!n) return n.error();
  r.notification = std::move(n.value());
  r.state = parse_state(column_text(*get, 1)).value_or(State::queued);
  r.attempts = sqlite3_column_int(*get, 2);
  r.reference = column_text(*get, 3);
  r.reason = column_text(*get, 4);
  r.next_attempt_ms = sqlite3_column_int64(*get, 5);
  auto tokens = decode_token_states(column_text(*get, 6));
  if (!tokens) return tokens.error();
  r.tokens = token_states(r.notification, *tokens, r.state);
  auto hist = statement("SELECT at_ms, outcome, detail FROM attempts WHERE request_id = ? ORDER BY rowid");
  if (!hist) return hist.error();
  bind_value(*hist, 1, request_id);
  while (sqlite3_step(*hist) == SQLITE_ROW) {
    r.history.push_back({sqlite3_column_int64(*hist, 0), column_text(*hist, 1), column_text(*hist, 2)});
  }
  return std::optional<Record>(std::move(r));
}

Result<std::vector<std::string>> SqliteQueue::select_ids(const char* sql, std::size_t limit) {
  std::lock_guard lock(mu_);
  auto q = statement(sql);
  if (!q) return q.error();
  bind_value(*q, 1, static_cast<std::int64_t>(limit));
  std::vector<std::string> ids;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(*q)) == SQLITE_ROW) ids.push_back(column_text(*q, 0));
  sqlite3_reset(*q);
  if (rc != SQLITE_DONE) return db_error(db_.get());
  return ids;
}

Result<std::vector<std::string>> SqliteQueue::dead_ids(std::size_t limit) {
  return select_ids("SELECT request_id FROM notifications WHERE state = 'dead' ORDER BY updated_ms LIMIT ?", limit);
}

Status SqliteQueue::retry_dead(const std::string& request_id) {
  return write([&]() -> Status {
    auto q = statement(
        "UPDATE notifications SET state = 'queued', attempts = 0, next_attempt_ms = ?, updated_ms = ? "
        "WHERE request_id = ? AND state = 'dead'");
    if (!q) return q.error();
    const auto now = options_.clock->epoch_ms();
    bind_value(*q, 1, now);
    bind_value(*q, 2, now);
    bind_value(*q, 3, request_id);
    if (sqlite3_step(*q) != SQLITE_DONE) return db_error(db_.get());
    if (sqlite3_changes(db_.get()) == 0) return Error{Errc::not_found, "queue: no dead notification " + request_id};
    return {};
  });
}

Result<std::vector<std::string>> SqliteQueue::unannounced_ids(std::size_t limit) {
  return select_ids("SELECT request_id FROM unannounced LIMIT ?", limit);
}

Status SqliteQueue::mark_announced(std::span<const std::string> request_ids) {
  if (request_ids.empty()) return {};
  return write(
      [&]() -> Status {
        for (const auto& id : request_ids) {
          auto del = statement("DELETE FROM unannounced WHERE request_id = ?");
          if (!del) return del.error();
          bind_value(*del, 1, id);
          if (sqlite3_step(*del) != SQLITE_DONE) return db_error(db_.get());
        }
        return {};
      },
      /*durable=*/false);
}

Result<std::size_t> SqliteQueue::purge_finished() {
  std::size_t removed = 0;
  auto purged = write([&]() -> Status {
    sqlite3* db = db_.get();
    const auto cutoff = options_.clock->epoch_ms() - options_.retention.count();
    auto history = statement(
        "DELETE FROM attempts WHERE request_id IN (SELECT request_id FROM notifications WHERE "
        "state IN ('delivered', 'rejected') AND updated_ms < ?)");
    if (!history) return history.error();
    bind_value(*history, 1, cutoff);
    if (sqlite3_step(*history) != SQLITE_DONE) return db_error(db);
    auto rows = statement("DELETE FROM notifications WHERE state IN ('delivered', 'rejected') AND updated_ms < ?");
    if (!rows) return rows.error();
    bind_value(*rows, 1, cutoff);
    if (sqlite3_step(*rows) != SQLITE_DONE) return db_error(db);
    removed = static_cast<std::size_t>(sqlite3_changes(db));
    return {};
  });
  if (!purged) return purged.error();
  return removed;
}

Result<std::size_t> SqliteQueue::depth() {
  std::lock_guard lock(mu_);
  auto n = unfinished_locked();
  reset_statements();
  return n;
}

void SqliteQueue::reset_statements() noexcept {
  for (auto& [sql, stmt] : statements_) sqlite3_reset(stmt.get());
}

}  // namespace notify::delivery
