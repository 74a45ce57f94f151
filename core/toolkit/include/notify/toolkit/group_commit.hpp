#pragma once
// Group commit, written once for every durable store: callers on many threads submit jobs; whoever finds no commit
// running becomes the leader, takes every job waiting at that moment and hands the whole group to one `run` (one
// transaction, one fsync; or one Redis pipeline). The others sleep until the leader has finished their group. While a
// commit is in progress new jobs pile up, so the next group is larger exactly when load is higher: fsyncs per job fall
// as concurrency rises, and a job alone costs what it cost before (no timer, no added latency).
//
// `run` is called on the leader's thread with the group in arrival order; it must fill each job's result itself and
// must not throw. A job's storage is the submitter's, which is blocked in submit() until its group is done.

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

namespace notify::toolkit {

template <class Job>
class GroupCommit {
 public:
  using Runner = std::function<void(std::span<Job* const> group)>;

  /// `max_group` bounds one group (and so one transaction's size and the leader's time holding it).
  explicit GroupCommit(Runner run, std::size_t max_group = 256) : run_(std::move(run)), max_group_(max_group) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  /// Returns when `job` has been run as part of a group.
  void submit(Job& job) {
    Entry me{&job};
    std::unique_lock lock(mu_);
    waiting_.push_back(&me);
    while (!me.done) {
      if (leading_) {
        cv_.wait(lock);
        continue;
      }
      // No commit running and this job is not done: lead the next group (which includes it, since groups are taken
      // in arrival order and every earlier group has finished).
      leading_ = true;
      const auto take = static_cast<std::ptrdiff_t>(std::min(waiting_.size(), max_group_));
      std::vector<Entry*> entries(waiting_.begin(), waiting_.begin() + take);
      waiting_.erase(waiting_.begin(), waiting_.begin() + take);
      lock.unlock();
      std::vector<Job*> group;
      group.reserve(entries.size());
      for (Entry* e : entries) group.push_back(e->job);
      run_(std::span<Job* const>(group));
      lock.lock();
      for (Entry* e : entries) e->done = true;
      leading_ = false;
      ++groups_;
      cv_.notify_all();
    }
  }

  /// Jobs submitted and not yet taken into a group.
  [[nodiscard]] std::size_t waiting() const {
    std::lock_guard lock(mu_);
    return waiting_.size();
  }

  /// Groups run so far (for tests and metrics: jobs / groups is the batching achieved).
  [[nodiscard]] std::size_t groups() const {
    std::lock_guard lock(mu_);
    return groups_;
  }

 private:
  struct Entry {
    Job* job;
    bool done = false;  // set by the leader, under mu_
  };

  Runner run_;
  std::size_t max_group_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry*> waiting_;  // arrival order
  bool leading_ = false;
  std::size_t groups_ = 0;
};

}  // namespace notify::toolkit
