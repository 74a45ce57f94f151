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

std::vector<DeliveryResult> ApnsProvider::run(std::span<const Notification> batch, Clock::time_point deadline,
                                              ResultSink* sink) noexcept {
  std::vector<DeliveryResult> results(batch.size());
  toolkit::EarlyResults early(results, sink);
  try {
    auto key = secrets_.get(options_.secret_name);
    if (!key) {
      for (auto& r : results) {
        r = DeliveryResult::retryable("APNs key not provisioned (secret '" + options_.secret_name + "')",
                                      std::chrono::seconds(5));
      }
      return results;
    }
    // Refused before sending, whole: bad content, or no device tokens. A token that is not one (not 64+ hex digits)
    // is an invalid token of its own, not sent; the notification's other tokens go.
    std::vector<std::optional<DeliveryResult>> refused(batch.size());
    std::vector<std::vector<TokenResult>> malformed(batch.size());
    std::vector<Call> calls;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& n = batch[i];
      if (!n.external_user_ids.empty() || !n.topic.empty() || !n.condition.empty()) {
        refused[i] = DeliveryResult::rejected(
            "notification " + n.request_id +
            ": external_user_ids, topic and condition are not APNs recipients; give device_tokens");
        continue;
      }
      if (n.device_tokens.empty()) {
        refused[i] = DeliveryResult::rejected("notification " + n.request_id + ": no device_tokens for APNs");
        continue;
      }
      auto body = build_payload(n);
      if (!body) {
        refused[i] = DeliveryResult::rejected(body.error().message);
        continue;
      }
      for (const auto& token : n.device_tokens) {
        if (valid_device_token(token)) {
          calls.push_back({i, token, *body, std::nullopt});
        } else {
          malformed[i].push_back(
              {token, TokenOutcome::invalid_token, {}, "not an APNs device token (64+ hex digits); not sent"});
        }
      }
    }

    // Per device token (DeliveryResult::from_tokens): the caller's retry carries only the tokens still retryable, so
    // no device gets a push twice because another device's push failed.
    std::vector<std::vector<const Call*>> calls_of(batch.size());
    for (const auto& c : calls) calls_of[c.notification].push_back(&c);
    auto fold = [&](std::size_t i) -> DeliveryResult {
      if (refused[i]) return *refused[i];
      std::vector<TokenResult> tokens;
      std::chrono::milliseconds after{0};
      for (const Call* c : calls_of[i]) {
        if (!c->outcome) {
          tokens.push_back(
              {c->device_token, TokenOutcome::retryable, {}, "not sent: the caller's deadline had passed"});
          continue;
        }
        const auto& r = c->outcome->result;
        tokens.push_back({c->device_token, token_outcome_of(c->outcome->result.outcome, c->outcome->invalid_token),
                          r.reference, r.reason});
        if (r.outcome == Outcome::retryable) after = std::max(after, r.retry_after);
      }
      tokens.insert(tokens.end(), malformed[i].begin(), malformed[i].end());
      return DeliveryResult::from_tokens(std::move(tokens), after);
    };
    // Decided as soon as every push of it has a final answer (no retry will change it), and reported then.
    auto decide_if_final = [&](std::size_t i) {
      early.decide_when_final(
          i, calls_of[i], [](const Call* c) { return c->outcome && c->outcome->result.outcome != Outcome::retryable; },
          fold);
    };
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (refused[i] || calls_of[i].empty()) decide_if_final(i);  // refused, or only malformed tokens: nothing to send
    }
    early.flush();

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
          const auto& n = batch[call.notification];
          const int priority = n.priority == Priority::high     ? 10
                               : n.priority == Priority::normal ? 5
                                                                : options_.priority;
          req.headers = {{"authorization", authorization},
                         {"apns-topic", options_.topic},
                         {"apns-push-type", options_.push_type},
                         {"apns-priority", std::to_string(priority)},
                         {"content-type", "application/json"}};
          if (n.ttl.count() > 0) {
            // A UNIX epoch date in seconds until which APNs keeps trying to deliver.
            const auto until = std::chrono::duration_cast<std::chrono::seconds>(
                                   (std::chrono::system_clock::now() + n.ttl).time_since_epoch())
                                   .count();
            req.headers.push_back({"apns-expiration", std::to_string(until)});
          }
          if (!n.collapse_key.empty()) req.headers.push_back({"apns-collapse-id", n.collapse_key});
          // One request_id to several devices: apns-id must be unique per push, so only a single push carries it.
          if (is_uuid(n.request_id) && n.device_tokens.size() == 1) req.headers.push_back({"apns-id", n.request_id});
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
        for (std::size_t p = start; p < end; ++p) decide_if_final(calls[pending[p]].notification);
        early.flush();
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
      if (options_.http.metrics != nullptr)
        for (std::size_t n = 0; n < again.size(); ++n) options_.http.metrics->retry_scheduled();
      std::this_thread::sleep_for(delay);
      pending = std::move(again);
    }

    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!early.decided(i)) results[i] = fold(i);  // the rest: retryable, or not sent
    }
  } catch (const std::exception& e) {
    for (auto& r : results) {
      if (r.outcome == Outcome::retryable) r = DeliveryResult::retryable(std::string("apns provider: ") + e.what());
    }
  }
  return results;
}

}  // namespace notify::apns
