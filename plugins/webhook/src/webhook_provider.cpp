#include "webhook_provider.hpp"

#include "webhook_payload.hpp"
#include "webhook_response.hpp"
#include "webhook_signature.hpp"

#include <Poco/URI.h>

#include <algorithm>
#include <optional>
#include <thread>

namespace notify::webhook {
namespace {

using Clock = std::chrono::steady_clock;

std::string origin_of(const std::string& url) {
  try {
    Poco::URI u(url);
    return u.getScheme() + "://" + u.getAuthority();
  } catch (const std::exception&) {
    return "<unparsable url>";
  }
}

}  // namespace

WebhookProvider::WebhookProvider(WebhookOptions options, SecretStore& secrets, TransportRegistry& transports, Log& log)
    : options_(std::move(options)),
      target_(origin_of(options_.url)),
      secrets_(secrets),
      log_(log),
      http_(transports, options_.http, log) {
  options_.concurrency = std::max<std::size_t>(1, options_.concurrency);
  options_.max_attempts = std::max(1, options_.max_attempts);
}

ProviderHealth WebhookProvider::health() const noexcept {
  try {
    auto secret = secrets_.get(options_.secret_name);
    if (!secret) return {false, "webhook secret not provisioned (secret '" + options_.secret_name + "')"};
    if (auto key = decode_signing_key(secret->reveal()); !key) {
      return {false, "secret '" + options_.secret_name + "': " + key.error().message};
    }
    return {true, "ready: POST " + target_ + " via " + options_.http.egress_transport +
                      (options_.http.egress_address.empty() ? "" : " " + options_.http.egress_address)};
  } catch (const std::exception& e) {
    return {false, std::string("webhook health: ") + e.what()};
  }
}

std::chrono::milliseconds WebhookProvider::backoff(int attempt) {
  const toolkit::BackoffPolicy policy{options_.backoff_initial, options_.backoff_max};
  std::lock_guard lock(rng_mu_);  // deliver() may run on several threads
  return policy.delay(attempt - 1, rng_);
}

std::vector<DeliveryResult> WebhookProvider::run(std::span<const Notification> batch, Clock::time_point deadline,
                                                 ResultSink* sink) noexcept {
  std::vector<DeliveryResult> results(batch.size());
  toolkit::EarlyResults early(results, sink);
  try {
    auto secret = secrets_.get(options_.secret_name);
    if (!secret) {
      for (auto& r : results) {
        r = DeliveryResult::retryable("webhook secret not provisioned (secret '" + options_.secret_name + "')",
                                      std::chrono::seconds(5));
      }
      return results;
    }
    auto key = decode_signing_key(secret->reveal());
    secret->wipe();
    if (!key) {
      // Not the notifications' fault, and fixed by provisioning a good secret: the caller keeps them.
      for (auto& r : results) {
        r = DeliveryResult::retryable("secret '" + options_.secret_name + "': " + key.error().message,
                                      std::chrono::seconds(30));
      }
      return results;
    }
    // Bodies are built once: a retry sends the same body under the same webhook-id (receivers dedupe on it), with
    // a fresh timestamp and signature.
    std::vector<std::optional<std::string>> bodies(batch.size());
    std::vector<std::size_t> pending;
    const auto now = std::chrono::system_clock::now();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto body = build_payload(batch[i], now);
      if (!body) {
        early.decide(i, DeliveryResult::rejected(body.error().message));
        continue;
      }
      bodies[i] = std::move(body.value());
      results[i] = DeliveryResult::retryable("not sent: the caller's deadline had passed");
      pending.push_back(i);
    }
    early.flush();
    for (int attempt = 1; !pending.empty(); ++attempt) {
      std::vector<std::size_t> again;
      for (std::size_t start = 0; start < pending.size(); start += options_.concurrency) {
        // No call starts past the deadline: what is left keeps its last outcome, or "not sent".
        if (Clock::now() >= deadline) break;
        const auto end = std::min(pending.size(), start + options_.concurrency);
        std::vector<http::HttpRequest> requests;
        const auto timestamp =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        for (std::size_t p = start; p < end; ++p) {
          const auto i = pending[p];
          const std::string& id = batch[i].request_id;
          http::HttpRequest req;
          req.url = options_.url;
          req.body = *bodies[i];
          req.headers = {{"Content-Type", "application/json"},
                         {"webhook-id", id},
                         {"webhook-timestamp", std::to_string(timestamp)},
                         {"webhook-signature", sign(*key, id, timestamp, req.body)}};
          requests.push_back(std::move(req));
        }
        auto answers = http_.perform_all(requests, deadline);
        const auto answered_at = std::chrono::system_clock::now();
        for (std::size_t p = start; p < end; ++p) {
          const auto i = pending[p];
          results[i] = map_result(answers[p - start], batch[i].request_id, answered_at);
          log_.debug("webhook " + batch[i].request_id + " to " + target_ + ": " + outcome_name(results[i].outcome) +
                     (results[i].reason.empty() ? "" : " (" + results[i].reason + ")"));
          if (results[i].outcome == Outcome::retryable) {
            again.push_back(i);
          } else {
            early.decide(i, results[i]);  // final: reported now, before the others' retries
          }
        }
        early.flush();
      }
      if (again.empty() || attempt >= options_.max_attempts || Clock::now() >= deadline) break;
      std::chrono::milliseconds delay{0};
      for (auto i : again) delay = std::max(delay, results[i].retry_after);
      if (delay.count() == 0) delay = backoff(attempt);
      // A wait past the caller's deadline is the caller's to make (retry_after), not ours.
      if (delay > options_.max_retry_wait || Clock::now() + delay >= deadline) {
        for (auto i : again) results[i].retry_after = std::max(results[i].retry_after, delay);
        break;
      }
      log_.info(std::to_string(again.size()) + " webhook call(s) to " + target_ + " retryable; retrying in " +
                std::to_string(delay.count()) + " ms, attempt " + std::to_string(attempt + 1) + "/" +
                std::to_string(options_.max_attempts));
      if (options_.http.metrics != nullptr)
        for (std::size_t n = 0; n < again.size(); ++n) options_.http.metrics->retry_scheduled();
      std::this_thread::sleep_for(delay);
      pending = std::move(again);
    }
  } catch (const std::exception& e) {
    for (auto& r : results) {
      if (r.outcome == Outcome::retryable) r = DeliveryResult::retryable(std::string("webhook provider: ") + e.what());
    }
  }
  return results;
}

}  // namespace notify::webhook
