#pragma once
// The queue's contract, written once and run against each backend: queue_sqlite_test.cpp instantiates it for SQLite
// (the unit tier: a file in a temp dir), queue_redis_test.cpp for Redis Streams on a real redis-server (e2e).
// Time is a toolkit::ManualClock the tests move by hand: accept times, retry due times, leases and retention follow
// it, so no test sleeps. One thing does not follow it: Redis decides by its own (real) idle time when a crashed
// consumer's entries may be taken over (XAUTOCLAIM); `takeover_by_clock` says which kind a backend is.

#include "host_process.hpp"
#include "parent/queue/notification_queue.hpp"

#include <notify/toolkit/clock.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>

namespace notify::delivery::testing {

struct QueueBackend {
  std::string name;
  /// Opens the queue at `place` in `dir` as `consumer`; the same place reaches the same queue (a restarted host).
  std::function<std::unique_ptr<NotificationQueue>(const QueueOptions&, const std::filesystem::path& dir,
                                                   const std::string& place, const std::string& consumer)>
      open;
  /// True when the queue's clock decides that a dead host's lease has expired; false when the server's real time
  /// does (then the test waits for it, polling).
  bool takeover_by_clock = true;
};

inline Notification make_notification(const std::string& id) {
  Notification n;
  n.request_id = id;
  n.external_user_ids = {"u-" + id};
  n.title = "t";
  n.message = "m";
  n.custom_data = {{"k", "v"}};
  return n;
}

class QueueContract : public ::testing::TestWithParam<QueueBackend> {
 protected:
  /// Options with short backoffs on the manual clock. The lease is long in real time, so that a Redis server never
  /// takes an entry over while a test is between two calls; the takeover test sets its own.
  QueueOptions options() const {
    QueueOptions o;
    o.capacity = 100;
    o.max_attempts = 3;
    o.backoff_initial = std::chrono::milliseconds(10);
    o.backoff_max = std::chrono::milliseconds(20);
    o.lease = std::chrono::seconds(30);
    o.clock = clock_;
    return o;
  }
  std::unique_ptr<NotificationQueue> open_queue(const QueueOptions& o, const std::string& consumer = "c1") {
    auto q = GetParam().open(o, dir_.path(), place_, consumer);
    // Every caller dereferences the queue: a failed open ends the test here (gtest reports the exception) instead of
    // carrying on with a null pointer. The backend's open has already said why.
    if (!q) throw std::runtime_error(GetParam().name + " queue did not open");
    return q;
  }
  std::unique_ptr<NotificationQueue> open_queue() { return open_queue(options()); }

  std::shared_ptr<toolkit::ManualClock> clock_ = std::make_shared<toolkit::ManualClock>();
  notify::testing::TempDir dir_;
  std::string place_ = "q" + std::to_string(next_place_++);

 private:
  static inline std::atomic<int> next_place_{0};
};

/// gtest's name for an instantiation, and how it prints the parameter: the backend's name.
inline std::string backend_name(const ::testing::TestParamInfo<QueueBackend>& info) { return info.param.name; }
inline void PrintTo(const QueueBackend& backend, std::ostream* os) { *os << backend.name; }

}  // namespace notify::delivery::testing
