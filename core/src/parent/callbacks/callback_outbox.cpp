#include "parent/callbacks/callback_outbox.hpp"

#include <sqlite3.h>

#include <algorithm>

namespace notify::callbacks {
namespace {

struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

Error db_error(sqlite3* db) { return Error{Errc::io_error, std::string("callbacks outbox: ") + sqlite3_errmsg(db)}; }

Result<Stmt> prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return db_error(db);
  return Stmt(raw);
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

}  // namespace

void CallbackOutbox::DbClose::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }

CallbackOutbox::CallbackOutbox(sqlite3* db, OutboxOptions options) : db_(db), options_(std::move(options)) {
  if (!options_.clock) options_.clock = toolkit::real_clock();
}
CallbackOutbox::~CallbackOutbox() = default;

Status CallbackOutbox::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Error{Errc::io_error, "callbacks outbox: " + msg};
  }
  return {};
}

Result<std::unique_ptr<CallbackOutbox>> CallbackOutbox::open(const std::filesystem::path& path, OutboxOptions options) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  std::unique_ptr<CallbackOutbox> box(new CallbackOutbox(raw, std::move(options)));  // owns raw even on failure
  if (rc != SQLITE_OK) {
    return Error{Errc::io_error,
                 "callbacks outbox " + path.string() + ": " + (raw ? sqlite3_errmsg(raw) : "cannot open")};
  }
  sqlite3_busy_timeout(raw, 5000);
  for (const char* sql : {
           "PRAGMA journal_mode=WAL",
           "PRAGMA synchronous=FULL",  // an event appended is on disk before the dispatcher moves on
           "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, url TEXT NOT NULL, body TEXT NOT NULL, "
           "attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, "
           "last_error TEXT NOT NULL DEFAULT '')",
           "CREATE INDEX IF NOT EXISTS events_due ON events(next_attempt_ms)",
           "CREATE TABLE IF NOT EXISTS urls (request_id TEXT PRIMARY KEY, url TEXT NOT NULL, created_ms INTEGER NOT "
           "NULL)",
       }) {
    if (auto st = box->exec(sql); !st)
      return Error{st.code(), "callbacks outbox " + path.string() + ": " + st.message()};
  }
  auto count = prepare(raw, "SELECT COUNT(*) FROM events");
  if (!count) return count.error();
  if (sqlite3_step(count->get()) != SQLITE_ROW) return db_error(raw);
  box->pending_ = static_cast<std::size_t>(sqlite3_column_int64(count->get(), 0));
  return box;
}

Status CallbackOutbox::append(std::span<const OutboxEvent> events) {
  if (events.empty()) return {};
  Append job{events, {}};
  appends_.submit(job);
  return job.status;
}

void CallbackOutbox::commit_appends(std::span<Append* const> group) {
  std::lock_guard lock(mu_);
  sqlite3* db = db_.get();
  auto finish = [&](const Status& st) {
    for (Append* a : group) a->status = st;
  };
  if (auto st = exec("BEGIN IMMEDIATE"); !st) return finish(st);
  std::size_t inserted = 0;
  Status failed;
  {
    auto insert = prepare(db,
                          "INSERT OR IGNORE INTO events (id, url, body, attempts, next_attempt_ms, created_ms) "
                          "VALUES (?, ?, ?, 0, ?, ?)");
    if (!insert) failed = insert.error();
    const auto now = options_.clock->epoch_ms();
    for (const Append* a : group) {
      for (const auto& e : a->events) {
        if (!failed) break;
        sqlite3_reset(insert->get());
        bind_text(insert->get(), 1, e.id);
        bind_text(insert->get(), 2, e.url);
        bind_text(insert->get(), 3, e.body);
        sqlite3_bind_int64(insert->get(), 4, now);
        sqlite3_bind_int64(insert->get(), 5, now);
        if (sqlite3_step(insert->get()) != SQLITE_DONE) {
          failed = db_error(db);
          break;
        }
        inserted += static_cast<std::size_t>(sqlite3_changes(db));  // 0 for an id already waiting
      }
    }
  }  // the statement is finalized before the transaction ends
  if (!failed) {
    exec("ROLLBACK");
    return finish(failed);
  }
  if (auto st = exec("COMMIT"); !st) {
    exec("ROLLBACK");
    return finish(st);
  }
  pending_ += inserted;
  finish({});
}

Result<std::vector<OutboxEvent>> CallbackOutbox::lease(std::size_t max) {
  std::lock_guard lock(mu_);
  std::vector<OutboxEvent> out;
  if (max == 0) return out;
  // Leased events are skipped here rather than marked in the file: ask for as many more as are leased.
  auto due = prepare(db_.get(),
                     "SELECT id, url, body, attempts FROM events WHERE next_attempt_ms <= ? "
                     "ORDER BY next_attempt_ms LIMIT ?");
  if (!due) return due.error();
  sqlite3_bind_int64(due->get(), 1, options_.clock->epoch_ms());
  sqlite3_bind_int64(due->get(), 2, static_cast<sqlite3_int64>(max) + static_cast<sqlite3_int64>(leased_.size()));
  int rc = SQLITE_ROW;
  while (out.size() < max && (rc = sqlite3_step(due->get())) == SQLITE_ROW) {
    auto id = column_text(due->get(), 0);
    if (leased_.count(id) != 0) continue;
    out.push_back(
        {std::move(id), column_text(due->get(), 1), column_text(due->get(), 2), sqlite3_column_int(due->get(), 3)});
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(db_.get());
  for (const auto& e : out) leased_.insert(e.id);
  return out;
}

void CallbackOutbox::release(const std::string& id) { leased_.erase(id); }

Status CallbackOutbox::ack(const std::string& id) {
  std::lock_guard lock(mu_);
  release(id);
  auto del = prepare(db_.get(), "DELETE FROM events WHERE id = ?");
  if (!del) return del.error();
  bind_text(del->get(), 1, id);
  if (sqlite3_step(del->get()) != SQLITE_DONE) return db_error(db_.get());
  pending_ -= std::min<std::size_t>(pending_, static_cast<std::size_t>(sqlite3_changes(db_.get())));
  return {};
}

Result<FailVerdict> CallbackOutbox::fail(const std::string& id, const std::string& error) {
  std::lock_guard lock(mu_);
  release(id);
  sqlite3* db = db_.get();
  auto get = prepare(db, "SELECT attempts FROM events WHERE id = ?");
  if (!get) return get.error();
  bind_text(get->get(), 1, id);
  if (sqlite3_step(get->get()) != SQLITE_ROW) return Error{Errc::not_found, "callbacks outbox: no event " + id};
  const int attempts = sqlite3_column_int(get->get(), 0) + 1;
  get->reset();
  if (options_.max_attempts > 0 && attempts >= options_.max_attempts) {
    auto del = prepare(db, "DELETE FROM events WHERE id = ?");
    if (!del) return del.error();
    bind_text(del->get(), 1, id);
    if (sqlite3_step(del->get()) != SQLITE_DONE) return db_error(db);
    pending_ -= std::min<std::size_t>(pending_, static_cast<std::size_t>(sqlite3_changes(db)));
    return FailVerdict::given_up;
  }
  const toolkit::BackoffPolicy policy{options_.backoff_initial, options_.backoff_max};
  const auto next = options_.clock->epoch_ms() + policy.delay(attempts - 1, rng_).count();
  auto update = prepare(db, "UPDATE events SET attempts = ?, next_attempt_ms = ?, last_error = ? WHERE id = ?");
  if (!update) return update.error();
  sqlite3_bind_int(update->get(), 1, attempts);
  sqlite3_bind_int64(update->get(), 2, next);
  bind_text(update->get(), 3, error);
  bind_text(update->get(), 4, id);
  if (sqlite3_step(update->get()) != SQLITE_DONE) return db_error(db);
  return FailVerdict::retrying;
}

Result<std::size_t> CallbackOutbox::pending() {
  std::lock_guard lock(mu_);
  return pending_;
}

Status CallbackOutbox::remember_urls(std::span<const std::pair<std::string, std::string>> urls) {
  if (urls.empty()) return {};
  std::lock_guard lock(mu_);
  sqlite3* db = db_.get();
  if (auto st = exec("BEGIN IMMEDIATE"); !st) return st;
  Status result;
  {
    auto insert = prepare(db, "INSERT OR IGNORE INTO urls (request_id, url, created_ms) VALUES (?, ?, ?)");
    if (!insert) {
      result = insert.error();
    } else {
      for (const auto& [id, url] : urls) {
        sqlite3_reset(insert->get());
        bind_text(insert->get(), 1, id);
        bind_text(insert->get(), 2, url);
        sqlite3_bind_int64(insert->get(), 3, options_.clock->epoch_ms());
        if (sqlite3_step(insert->get()) != SQLITE_DONE) {
          result = db_error(db);
          break;
        }
      }
    }
  }  // the statement is finalized before the transaction ends
  if (!result) {
    exec("ROLLBACK");
    return result;
  }
  if (auto st = exec("COMMIT"); !st) {
    exec("ROLLBACK");
    return st;
  }
  return {};
}

Result<std::string> CallbackOutbox::url_for(const std::string& request_id) {
  std::lock_guard lock(mu_);
  auto get = prepare(db_.get(), "SELECT url FROM urls WHERE request_id = ?");
  if (!get) return get.error();
  bind_text(get->get(), 1, request_id);
  const int rc = sqlite3_step(get->get());
  if (rc == SQLITE_ROW) return column_text(get->get(), 0);
  if (rc != SQLITE_DONE) return db_error(db_.get());
  return std::string();
}

Status CallbackOutbox::forget_urls(std::span<const std::string> request_ids) {
  if (request_ids.empty()) return {};
  std::lock_guard lock(mu_);
  auto del = prepare(db_.get(), "DELETE FROM urls WHERE request_id = ?");
  if (!del) return del.error();
  for (const auto& id : request_ids) {
    sqlite3_reset(del->get());
    bind_text(del->get(), 1, id);
    if (sqlite3_step(del->get()) != SQLITE_DONE) return db_error(db_.get());
  }
  return {};
}

}  // namespace notify::callbacks
