#include "parent/callbacks/callback_sender.hpp"

#include <algorithm>

namespace notify::callbacks {

CallbackSender::CallbackSender(CallbackOutbox& outbox, CallbackClient client, SenderOptions options,
                               services::DeliveryMetrics& metrics, std::shared_ptr<Log> log)
    : outbox_(outbox),
      client_(std::move(client)),
      options_(std::move(options)),
      metrics_(metrics),
      log_(std::move(log)) {
  const std::size_t n = std::max<std::size_t>(1, options_.concurrency);
  for (std::size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<toolkit::StoppableThread>());
}

CallbackSender::~CallbackSender() { stop(); }

Status CallbackSender::start() {
  metrics_.callbacks_enabled = true;
  refresh_pending();
  for (auto& w : workers_) {
    auto& self = *w;
    self.start([this, &self] { run(self); });
  }
  return {};
}

void CallbackSender::stop() {
  for (auto& w : workers_) w->stop();
}

void CallbackSender::wake() {
  for (auto& w : workers_) w->wake();
}

void CallbackSender::run(toolkit::StoppableThread& self) {
  while (!self.stopping()) {
    if (send_one()) continue;
    if (!self.wait_for(options_.poll_interval)) return;
  }
}

void CallbackSender::refresh_pending() {
  if (auto n = outbox_.pending()) metrics_.callbacks_pending = *n;
}

bool CallbackSender::send_one() {
  auto leased = outbox_.lease(1);
  if (!leased) {
    log_->error("callbacks: reading the outbox failed: " + leased.error().message);
    return false;
  }
  if (leased->empty()) return false;
  const auto& event = leased->front();
  Result<int> answer = Error{Errc::internal, "unset"};
  if (event.url.empty()) {
    answer = client_.post(options_.url, event.id, event.body);
  } else if (auto url = parse_callback_url(event.url)) {
    answer = client_.post(*url, event.id, event.body);
  } else {
    answer = Error{Errc::invalid_argument, "its callback_url " + url.error().message};
  }
  if (answer && *answer >= 200 && *answer < 300) {
    if (auto st = outbox_.ack(event.id); !st) log_->error("callbacks: acknowledging " + event.id + ": " + st.message());
    ++metrics_.callbacks_sent;
  } else {
    ++metrics_.callbacks_failed;
    const std::string why = answer ? "HTTP " + std::to_string(*answer) : answer.error().message;
    auto verdict = outbox_.fail(event.id, why);
    if (!verdict) {
      log_->error("callbacks: recording a failed attempt of " + event.id + ": " + verdict.error().message);
    } else if (*verdict == FailVerdict::given_up) {
      ++metrics_.callbacks_dropped;
      log_->warning("callbacks: gave up on " + event.id + " after " + std::to_string(event.attempts + 1) +
                    " attempts (last: " + why + ")");
    } else if (event.attempts == 0) {
      // Logged at the first failure only: a receiver down for an hour would otherwise fill the log.
      log_->warning("callbacks: " + event.id + " not acknowledged (" + why + "); retrying with backoff");
    }
  }
  refresh_pending();
  return true;
}

}  // namespace notify::callbacks
