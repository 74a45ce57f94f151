#include <notify/toolkit/stoppable_thread.hpp>

namespace notify::toolkit {

StoppableThread::~StoppableThread() { stop(); }

bool StoppableThread::start(std::function<void()> loop) {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return false;
  started_ = true;
  thread_ = std::thread(std::move(loop));
  return true;
}

void StoppableThread::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // A concurrent second stop() waits here until the first has joined. Called from the loop itself (a bug), it
  // leaves the join to the destructor instead of deadlocking.
  std::lock_guard join_lock(join_mu_);
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool StoppableThread::wait_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_ || woken_; });
  woken_ = false;
  return !stopping_;
}

void StoppableThread::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool StoppableThread::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

}  // namespace notify::toolkit
