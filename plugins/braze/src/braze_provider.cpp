#include "braze_provider.hpp"

#include <algorithm>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

namespace notify::braze {
namespace {

// A reason must never carry the key, even if a server echoed it back.
std::string without(std::string text, std::string_view secret) {
  if (secret.size() < 4) return text;
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
    text.replace(pos, secret.size(), "<redacted>");
  }
  return text;
}

}  // namespace

BrazeProvider::BrazeProvider(BrazeOptions options, SecretStore& secrets, TransportRegistry& transports, Log& log)
    : options_(std::move(options)),
      secrets_(secrets),
      log_(log),
      http_(transports, options_.http, log),
      limiter_(options_.rate_limit_per_hour) {}

ProviderHealth BrazeProvider::health() const noexcept {
  if (!secrets_.has(options_.api_key_secret)) {
    return {false, "api key not provisioned (secret '" + options_.api_key_secret + "')"};
  }
  return {true, "ready: " + options_.http.endpoint.scheme + "://" + options_.http.endpoint.host_header() + " via " +
                    options_.http.egress_transport + " " + options_.http.egress_address};
}

std::chrono::milliseconds BrazeProvider::backoff(int attempt) {
  const toolkit::BackoffPolicy policy{options_.backoff_initial, options_.backoff_max};
  std::lock_guard lock(rng_mu_);  // calls of one batch run in parallel
  return policy.delay(attempt - 1, rng_);
}

BrazeProvider::Sent BrazeProvider::send_call(const BrazeCall& call, const Secret& key,
                                             std::chrono::steady_clock::time_point deadline) {
  using Clock = std::chrono::steady_clock;
  Sent sent;
  for (int attempt = 1;; ++attempt) {
    if (Clock::now() >= deadline) {
      if (attempt == 1) sent.outcome = {Outcome::retryable, {}, "not sent: the caller's deadline had passed", {}, {}};
      return sent;  // after a retryable attempt: its outcome stands
    }
    if (auto wait = limiter_.reserve(); wait.count() > 0) {
      if (wait > options_.max_retry_wait || Clock::now() + wait >= deadline) {
        sent.outcome = {Outcome::retryable,
                        {},
                        "client-side rate limit: next slot in " + std::to_string(wait.count()) + " ms",
                        wait,
                        {}};
        return sent;
      }
      if (options_.metrics) options_.metrics->throttled(wait);
      std::this_thread::sleep_for(wait);
    }
    sent.attempts = attempt;
    bool maybe_delivered = false;
    const auto started = Clock::now();
    auto response = http_.post(call.path, call.body, key.reveal(), maybe_delivered);
    if (options_.metrics) {
      options_.metrics->call_finished(response ? response->status : 0,
                                      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started));
    }
    if (response) {
      const auto rl = rate_limit_headers(*response);
      if (rl.remaining && options_.metrics) options_.metrics->rate_limit_remaining(*rl.remaining);
      if (rl.limit && rl.remaining && rl.reset_epoch_seconds) {
        const auto reset = std::chrono::system_clock::time_point(std::chrono::seconds(*rl.reset_epoch_seconds));
        limiter_.observe(
            *rl.limit, *rl.remaining,
            std::chrono::duration_cast<std::chrono::milliseconds>(reset - std::chrono::system_clock::now()));
      }
      sent.outcome = map_response(*response, std::chrono::system_clock::now());
      log_.debug("POST " + call.path + " (" + std::to_string(call.recipients.size()) + " recipients): HTTP " +
                 std::to_string(response->status) +
                 (sent.outcome.dispatch_id.empty() ? "" : " dispatch_id=" + sent.outcome.dispatch_id));
    } else {
      sent.outcome = {Outcome::retryable, {}, response.error().message, std::chrono::milliseconds(0), {}};
      if (maybe_delivered) sent.outcome.reason += " (the request may have reached Braze)";
    }
    sent.outcome.reason = without(sent.outcome.reason, key.reveal());
    // Delivered and rejected are final. A 2XX is never sent again.
    if (sent.outcome.outcome != Outcome::retryable || attempt >= options_.max_attempts) return sent;
    auto delay = sent.outcome.retry_after.count() > 0 ? sent.outcome.retry_after : backoff(attempt);
    // A wait past the caller's deadline is the caller's to make (retry_after), not ours: it will not wait for us.
    if (delay > options_.max_retry_wait || Clock::now() + delay >= deadline) {
      sent.outcome.retry_after = delay;
      return sent;
    }
    log_.info("POST " + call.path + " retryable (" + sent.outcome.reason + "); retrying in " +
              std::to_string(delay.count()) + " ms, attempt " + std::to_string(attempt + 1) + "/" +
              std::to_string(options_.max_attempts));
    if (options_.metrics) options_.metrics->retry_scheduled();
    std::this_thread::sleep_for(delay);
  }
}

std::vector<DeliveryResult> BrazeProvider::run(std::span<const Notification> batch,
                                               std::chrono::steady_clock::time_point deadline,
                                               ResultSink* sink) noexcept {
  std::vector<DeliveryResult> results(batch.size());
  std::vector<bool> done(batch.size(), false);  // decided (and reported when streaming)
  std::mutex mu;                                // results, done, outcomes, remaining: written by the call threads
  try {
    auto key = secrets_.get(options_.api_key_secret);
    if (!key) {
      for (auto& r : results) {
        r = DeliveryResult::retryable("braze api key not provisioned (secret '" + options_.api_key_secret + "')",
                                      std::chrono::seconds(5));
      }
      return results;
    }
    auto built = build_calls(batch, options_.content);
    std::vector<Sent> outcomes(built.calls.size());
    std::vector<std::vector<std::size_t>> calls_of(batch.size());
    for (std::size_t c = 0; c < built.calls.size(); ++c)
      for (auto n : built.calls[c].notifications) calls_of[n].push_back(c);
    std::vector<std::size_t> remaining(batch.size());
    for (std::size_t n = 0; n < batch.size(); ++n) remaining[n] = built.refused[n] ? 0 : calls_of[n].size();

    // A notification's result once every call carrying it has ended: any rejection wins, then any retryable, else
    // delivered. Caller holds mu.
    auto fold = [&](std::size_t n) -> DeliveryResult {
      if (built.refused[n]) return *built.refused[n];
      std::optional<DeliveryResult> rejected, retryable;
      std::string dispatch;
      for (auto c : calls_of[n]) {
        const auto& o = outcomes[c].outcome;
        if (o.outcome == Outcome::rejected && !rejected) rejected = DeliveryResult::rejected(o.reason);
        if (o.outcome == Outcome::retryable) {
          if (!retryable || o.retry_after > retryable->retry_after)
            retryable = DeliveryResult::retryable(o.reason, o.retry_after);
        }
        if (o.outcome == Outcome::delivered) {
          // A 2XX with minor errors naming this notification's recipients: Braze did not send those.
          for (const auto& err : o.minor_errors) {
            for (const auto& user : batch[n].external_user_ids) {
              if (!rejected && err.find(user) != std::string::npos) {
                rejected = DeliveryResult::rejected("Braze: " + without(err, key->reveal()));
              }
            }
          }
          if (!o.dispatch_id.empty() && dispatch.find(o.dispatch_id) == std::string::npos) {
            dispatch += (dispatch.empty() ? "" : ",") + o.dispatch_id;
          }
        }
      }
      if (rejected) return *rejected;
      if (retryable) return *retryable;
      return DeliveryResult::delivered(dispatch);
    };
    // Decides the notifications in `ready` and reports them (outside mu: the sink writes to the link).
    auto decide = [&](const std::vector<std::size_t>& ready) {
      if (ready.empty()) return;
      std::vector<DeliveryResult> decided;
      {
        std::lock_guard lock(mu);
        for (auto n : ready) {
          results[n] = fold(n);
          done[n] = true;
          decided.push_back(results[n]);
        }
      }
      if (sink != nullptr) sink->report(ready, decided);
    };
    std::vector<std::size_t> now;  // refused by build_calls, or nothing to call for
    for (std::size_t n = 0; n < batch.size(); ++n) {
      if (remaining[n] == 0) now.push_back(n);
    }
    decide(now);

    // Calls run in parallel up to the pool size; each keeps its own retries, and each one's notifications are
    // decided as soon as it ends.
    const std::size_t width = std::max<std::size_t>(1, options_.http.pool_size);
    for (std::size_t start = 0; start < built.calls.size(); start += width) {
      std::vector<std::future<void>> running;
      const auto end = std::min(built.calls.size(), start + width);
      for (std::size_t i = start; i < end; ++i) {
        running.push_back(std::async(std::launch::async, [&, i] {
          auto sent = send_call(built.calls[i], *key, deadline);
          std::vector<std::size_t> ready;
          {
            std::lock_guard lock(mu);
            outcomes[i] = std::move(sent);
            for (auto n : built.calls[i].notifications) {
              if (remaining[n] > 0 && --remaining[n] == 0) ready.push_back(n);
            }
          }
          decide(ready);
        }));
      }
      for (auto& r : running) r.get();
    }
  } catch (const std::exception& e) {
    std::lock_guard lock(mu);
    for (std::size_t n = 0; n < batch.size(); ++n) {
      if (!done[n]) results[n] = DeliveryResult::retryable(std::string("braze provider: ") + e.what());
    }
  }
  return results;
}

}  // namespace notify::braze
