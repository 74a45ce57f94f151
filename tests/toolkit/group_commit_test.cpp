// GroupCommit: every job runs exactly once, in a group that keeps arrival order, and jobs that arrive while a commit
// is running share the next one.
#include <notify/toolkit/group_commit.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using notify::toolkit::GroupCommit;

namespace {
struct Job {
  int value = 0;
  int result = -1;
  std::size_t group_size = 0;
};
}  // namespace

TEST(GroupCommit, AJobAloneRunsInAGroupOfOne) {
  std::vector<std::size_t> sizes;
  GroupCommit<Job> gc([&](std::span<Job* const> g) {
    sizes.push_back(g.size());
    for (Job* j : g) j->result = j->value * 2;
  });
  Job a{21};
  gc.submit(a);
  EXPECT_EQ(a.result, 42);
  EXPECT_EQ(sizes, std::vector<std::size_t>{1});
  EXPECT_EQ(gc.groups(), 1u);
}

TEST(GroupCommit, JobsArrivingDuringACommitShareTheNextOne) {
  // The first commit is held open until seven more jobs are waiting; they must then go as one group of seven.
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::vector<std::vector<int>> groups;
  GroupCommit<Job>* self = nullptr;
  GroupCommit<Job> gc([&](std::span<Job* const> g) {
    std::vector<int> values;
    for (Job* j : g) {
      values.push_back(j->value);
      j->result = j->value;
      j->group_size = g.size();
    }
    std::unique_lock lock(mu);
    groups.push_back(values);
    cv.notify_all();
    if (groups.size() == 1) cv.wait(lock, [&] { return release; });
  });
  self = &gc;
  Job first{0};
  std::thread leader([&] { self->submit(first); });
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return !groups.empty(); });
  }
  std::vector<Job> jobs(7);
  std::vector<std::thread> followers;
  for (int i = 0; i < 7; ++i) {
    jobs[static_cast<std::size_t>(i)].value = i + 1;
    followers.emplace_back([&, i] { self->submit(jobs[static_cast<std::size_t>(i)]); });
  }
  // Let every follower queue up (they block: a commit is running), then let the first commit finish.
  while (gc.waiting() < 7) std::this_thread::yield();
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  leader.join();
  for (auto& t : followers) t.join();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0], std::vector<int>{0});
  EXPECT_EQ(std::set<int>(groups[1].begin(), groups[1].end()), (std::set<int>{1, 2, 3, 4, 5, 6, 7}));
  for (const auto& j : jobs) {
    EXPECT_EQ(j.result, j.value);
    EXPECT_EQ(j.group_size, 7u);
  }
}

TEST(GroupCommit, ManyThreadsEachJobRunsExactlyOnceAndGroupsRespectTheirBound) {
  std::atomic<int> runs{0};
  std::atomic<std::size_t> largest{0};
  GroupCommit<Job> gc(
      [&](std::span<Job* const> g) {
        largest = std::max(largest.load(), g.size());
        for (Job* j : g) {
          ++runs;
          j->result = j->value + 1;
        }
      },
      4);
  constexpr int kThreads = 16, kPerThread = 200;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Job j{t * kPerThread + i};
        gc.submit(j);
        if (j.result != j.value + 1) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(runs.load(), kThreads * kPerThread);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(largest.load(), 4u);
  EXPECT_LE(gc.groups(), static_cast<std::size_t>(kThreads * kPerThread));
}
