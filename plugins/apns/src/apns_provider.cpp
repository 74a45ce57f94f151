#include "apns_provider.hpp"

#include "apns_payload.hpp"
#include "apns_response.hpp"

#include <algorithm>
#include <optional>
#include <thread>

namespace notify::apns {
namespace {

using Clock = std::chrono::steady_clock;

// One push: a notification to one of its device tokens.
struct Call {
  std::size_t notification;
  std::string device_token;
  std::string body;
  std::optional<SendOutcome> outcome;
};

}  // namespace

ApnsProvider::ApnsProvider(ApnsOptions options, SecretStore& secrets, TransportRegistry& transports, Log& log)
    : options_(std::move(options)), secrets_(secrets), log_(log), http_(transports, options_.http, log) {
  options_.concurrency = std::max<std::size_t>(1, options_.concurrency);
  options_.max_attempts = std::max(1, options_.max_attempts);
}

ProviderHealth ApnsProvider::health() const noexcept {
  try {
    auto key = secrets_.get(options_.secret_name);
    if (!key) return {false, "APNs key not provisioned (secret '" + options_.secret_name + "')"};
    if (auto t =
            make_provider_token(key->reveal(), options_.key_id, options_.team_id, std::chrono::system_clock::now());
        !t) {
      return {false, "secret '" + options_.secret_name + "': " + t.error().message};
    }
    return {true, "ready: topic " + options_.topic + " at " + options_.endpoint + " via " +
                      options_.http.egress_transport +
                      (options_.http.egress_address.empty() ? "" : " " + options_.http.egress_address)};
  } catch (const std::exception& e) {
    return {false, std::string("apns health: ") + e.what()};
  }
}

std::chrono::milliseconds ApnsProvider::backoff(int attempt) {
  const toolkit::BackoffPolicy policy{options_.backoff_initial, options_.backoff_max};
  std::lock_guard lock(rng_mu_);
  return policy.delay(attempt - 1, rng_);
}

std::vector<DeliveryResult> ApnsProvider::deliver(std::span<const Notification> batch) noexcept {
  return deliver_by(batch, Clock::time_point::max());
}

std::vector<DeliveryResult> ApnsProvider::deliver_by(std::span<const Notification> batch,
                                                     Clock::time_point deadline) noexcept {
  std::vector<DeliveryResult> results(batch.size());
  try {
    auto key = secrets_.get(options_.secret_name);
    if (!key) {
      for (auto& r : results) {
        r = DeliveryResult::retryable("APNs key not provisioned (secret '" + options_.secret_name + "')",
                                      std::chrono::seconds(5));
      }
      return results;
    }
    // Refused before sending, whole: bad content, or a recipient that is not a device token.
    std::vector<std::optional<DeliveryResult>> refused(batch.size());
    std::vector<Call> calls;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto body = build_payload(batch[i]);
      if (!body) {
        refused[i] = DeliveryResult::rejected(body.error().message);
        continue;
      }
      if (batch[i].external_user_ids.empty()) {
        refused[i] = DeliveryResult::rejected("notification " + batch[i].request_id + ": no device token");
        continue;
      }
      for (const auto& token : batch[i].external_user_ids) {
        if (!valid_device_token(token)) {
          refused[i] = DeliveryResult::rejected("notification " + batch[i].request_id +
                                                ": a recipient is not an APNs device token (64+ hex digits)");
          break;
        }
      }
      if (refused[i]) continue;
      for (const auto& token : batch[i].external_user_ids) calls.push_back({i, token, *body, std::nullopt});
    }

    std::vector<std::size_t> pending(calls.size());
    for (std::size_t c = 0; c < calls.size(); ++c) pending[c] = c;
    for (int attempt = 1; !pending.empty(); ++attempt) {
      if (Clock::now() >= deadline) break;
      auto token = tokens_.get(*key, options_.key_id, options_.team_id);
      if (!token) {
        for (auto c : pending) {
          if (!calls[c].outcome) {
            calls[c].outcome =
                SendOutcome{DeliveryResult::retryable("secret '" + options_.secret_name + "': " + token.error().message,
                                                      std::chrono::seconds(30)),
                            false};
          }
        }
        break;
      }
      std::string authorization = "bearer " + std::string(token->reveal());
      std::vector<std::size_t> again;
      for (std::size_t start = 0; start < pending.size(); start += options_.concurrency) {
        if (Clock::now() >= deadline) break;
        const auto end = std::min(pending.size(), start + options_.concurrency);
        std::vector<http::HttpRequest> requests;
        for (std::size_t p = start; p < end; ++p) {
          const auto& call = calls[pending[p]];
          http::HttpRequest req;
          req.url = options_.endpoint + "/3/device/" + call.device_token;
          req.body = call.body;
          req.headers = {{"authorization", authorization},
                         {"apns-topic", options_.topic},
                         {"apns-push-type", options_.push_type},
                         {"apns-priority", std::to_string(options_.priority)},
                         {"content-type", "application/json"}};
          const auto& id = batch[call.notification].request_id;
          // One request_id to several devices: apns-id must be unique per push, so only a single push carries it.
          if (is_uuid(id) && batch[call.notification].external_user_ids.size() == 1) {
            req.headers.push_back({"apns-id", id});
          }
          requests.push_back(std::move(req));
        }
        auto answers = http_.perform_all(requests, deadline);
        for (auto& r : requests) explicit_bzero(r.headers[0].value.data(), r.headers[0].value.size());
        const auto now = std::chrono::system_clock::now();
        for (std::size_t p = start; p < end; ++p) {
          auto& call = calls[pending[p]];
          call.outcome = map_result(answers[p - start], now);
          if (call.outcome->token_expired) tokens_.invalidate();
          log_.debug("APNs push for " + batch[call.notification].request_id + ": " +
                     outcome_name(call.outcome->result.outcome) +
                     (call.outcome->result.reason.empty() ? "" : " (" + call.outcome->result.reason + ")"));
          if (call.outcome->result.outcome == Outcome::retryable) again.push_back(pending[p]);
        }
      }
      explicit_bzero(authorization.data(), authorization.size());
      if (again.empty() || attempt >= options_.max_attempts || Clock::now() >= deadline) break;
      std::chrono::milliseconds delay{0};
      for (auto c : again) delay = std::max(delay, calls[c].outcome->result.retry_after);
      if (delay.count() == 0) delay = backoff(attempt);
      if (delay > options_.max_retry_wait || Clock::now() + delay >= deadline) {
        for (auto c : again) {
          auto& r = calls[c].outcome->result;
          r.retry_after = std::max(r.retry_after, delay);
        }
        break;
      }
      log_.info(std::to_string(again.size()) + " APNs push(es) retryable; retrying in " +
                std::to_string(delay.count()) + " ms, attempt " + std::to_string(attempt + 1) + "/" +
                std::to_string(options_.max_attempts));
      std::this_thread::sleep_for(delay);
      pending = std::move(again);
    }

    // As FCM: any rejection wins, then any retryable (a re-send reaches delivered devices again), else delivered.
    std::vector<std::vector<const Call*>> calls_of(batch.size());
    for (const auto& c : calls) calls_of[c.notification].push_back(&c);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (refused[i]) {
        results[i] = *refused[i];
        continue;
      }
      std::optional<DeliveryResult> rejected, retryable;
      std::string ids;
      for (const Call* c : calls_of[i]) {
        if (!c->outcome) {
          if (!retryable) retryable = DeliveryResult::retryable("not sent: the caller's deadline had passed");
          continue;
        }
        const auto& r = c->outcome->result;
        if (r.outcome == Outcome::rejected && !rejected) rejected = r;
        if (r.outcome == Outcome::retryable && (!retryable || r.retry_after > retryable->retry_after)) retryable = r;
        if (r.outcome == Outcome::delivered) ids += (ids.empty() ? "" : ",") + r.reference;
      }
      results[i] = rejected ? *rejected : retryable ? *retryable : DeliveryResult::delivered(ids);
    }
  } catch (const std::exception& e) {
    for (auto& r : results) {
      if (r.outcome == Outcome::retryable) r = DeliveryResult::retryable(std::string("apns provider: ") + e.what());
    }
  }
  return results;
}

}  // namespace notify::apns
