#pragma once
// The parent's durable queue between ingress and the link. A notification accepted here survives a crash of either
// host: it is stored (and fsynced) before enqueue() returns, leased while in flight, and either finished (delivered,
// rejected), retried with backoff, or moved to the dead letters after max_attempts.

#include <notify/notification.hpp>
#include <notify/result.hpp>
#include <notify/toolkit/backoff.hpp>
#include <notify/toolkit/clock.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace notify::delivery {

enum class State { queued, in_flight, delivered, rejected, dead };
const char* state_name(State s) noexcept;
std::optional<State> parse_state(std::string_view text) noexcept;

struct Attempt {
  std::int64_t at_ms = 0;  // wall clock, ms since the epoch
  std::string outcome;     // delivered | rejected | retryable
  std::string detail;      // reference or reason
};

struct Record {
  Notification notification;
  State state = State::queued;
  int attempts = 0;
  std::string reference;  // provider reference when delivered
  std::string reason;     // last failure
  std::int64_t next_attempt_ms = 0;
  std::vector<Attempt> history;
  /// Every device token of the notification with its state (token_states()).
  std::vector<TokenResult> tokens;
};

struct Enqueued {
  std::string request_id;
  bool duplicate = false;  // the id was already known: nothing new was stored
  State state = State::queued;
};

struct Leased {
  Notification notification;                // with only its device tokens still pending
  int attempts = 0;                         // before this one
  std::int64_t accepted_ms = 0;             // when enqueue() stored it (wall clock), for the accept → outcome latency
  std::vector<std::string> invalid_tokens;  // found invalid by earlier attempts
};

// ---- per-token state, shared by every backend ----------------------------------------------------------------------
// A notification's device tokens each have a state, stored beside the record (encode_token_states()) as TokenResults:
// `retryable` means still pending; delivered, rejected and invalid_token are final. A token with no stored state is
// pending while the notification is unfinished. A retry leases the notification with its pending tokens only, so a
// token the provider took is never pushed again because another token of the same notification failed.

/// Every device token of `n`, in order, with its stored state, or pending (retryable) when none is stored — or, for
/// a notification that ended delivered/rejected by a whole-notification answer, that outcome.
std::vector<TokenResult> token_states(const Notification& n, std::span<const TokenResult> stored,
                                      State state = State::queued);

struct TokenMerge {
  DeliveryResult effective;         // the notification's outcome given all its tokens (DeliveryResult's rule)
  std::vector<TokenResult> stored;  // the states to store (every token of the notification)
};
/// Applies a delivery's per-token results to the stored states. A final state is never overwritten. Without
/// per-token results the delivery's outcome stands as it is.
TokenMerge merge_token_results(const Notification& n, std::span<const TokenResult> stored, const DeliveryResult& r);

/// Removes from `n` the device tokens already final; returns the invalid ones.
std::vector<std::string> keep_pending_tokens(Notification& n, std::span<const TokenResult> stored);

struct QueueOptions {
  std::size_t capacity = 100000;  // unfinished notifications at most; beyond: queue full
  int max_attempts = 10;
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{300000};
  std::chrono::milliseconds lease{60000};  // an in-flight item whose host died is retried after this
  std::chrono::milliseconds retention{7LL * 24 * 3600 * 1000};  // delivered/rejected records kept this long
  /// Where "now" comes from for accept times, leases, retry due times and retention. Tests pass a
  /// toolkit::ManualClock and advance it instead of sleeping. (Redis's own idle time, which decides when a crashed
  /// consumer's entries are taken over, is the server's and does not follow this clock.)
  std::shared_ptr<const toolkit::Clock> clock = toolkit::real_clock();
  /// Closes the gap between storing an outcome and announcing it (the delivery callbacks): complete_batch() also
  /// notes each notification it makes final (delivered, rejected, dead) as unannounced, in the same transaction, and
  /// it stays so until mark_announced(). A host killed between the two finds them with unannounced() when it starts.
  /// On only when something announces outcomes (callbacks configured); otherwise nothing would ever clear the notes.
  bool track_unannounced = false;
};

/// Delay before retry number `attempts` (1-based): exponential from backoff_initial, capped at backoff_max, with
/// jitter in [base/2, base]; a provider's longer `retry_after` wins. Shared by every backend.
std::chrono::milliseconds retry_delay(const QueueOptions& options, int attempts, std::chrono::milliseconds retry_after,
                                      toolkit::Rng& rng);

class NotificationQueue {
 public:
  virtual ~NotificationQueue() = default;
  /// Stores a batch atomically (all or nothing). Known request_ids are reported as duplicates, not stored again.
  /// Errc::resource_exhausted when the batch would exceed the capacity.
  virtual Result<std::vector<Enqueued>> enqueue(std::span<const Notification> batch) = 0;
  /// Up to `max` notifications that are due, marked in flight until now + lease.
  virtual Result<std::vector<Leased>> lease(std::size_t max) = 0;
  /// Records the outcome of one leased notification: final, or back to queued with backoff, or dead.
  virtual Status complete(const std::string& request_id, const DeliveryResult& result) = 0;
  /// The outcomes of a whole leased batch, stored together (one transaction or pipeline). Returns each
  /// notification's new state, in order (a retryable outcome becomes queued, or dead after max_attempts).
  virtual Result<std::vector<State>> complete_batch(
      std::span<const std::pair<std::string, DeliveryResult>> results) = 0;
  virtual Result<std::optional<Record>> status(const std::string& request_id) = 0;
  /// Up to `limit` dead notifications with their records, oldest first.
  Result<std::vector<Record>> dead(std::size_t limit);
  /// The request_ids of up to `limit` notifications made final while track_unannounced was on and not yet
  /// mark_announced(). An id whose record is gone (purged after retention) or is no longer final (an operator
  /// retried it) may be among them.
  virtual Result<std::vector<std::string>> unannounced_ids(std::size_t limit) = 0;
  /// Their outcomes have been handed on durably. Not fsynced by itself: a note lost in a power cut only announces the
  /// outcome again, which announcements must bear anyway (at least once).
  virtual Status mark_announced(std::span<const std::string> request_ids) = 0;
  /// Moves a dead notification back to queued with its attempt count reset.
  virtual Status retry_dead(const std::string& request_id) = 0;
  /// The request_ids of up to `limit` dead notifications, oldest first (the backend's part of dead()).
  virtual Result<std::vector<std::string>> dead_ids(std::size_t limit) = 0;
  /// Unfinished notifications (queued + in flight).
  virtual Result<std::size_t> depth() = 0;
  /// Deletes delivered and rejected records (and their history) finished longer than `retention` ago; dead ones stay
  /// until an operator retries them. Returns how many were removed.
  virtual Result<std::size_t> purge_finished() = 0;
};

}  // namespace notify::delivery
