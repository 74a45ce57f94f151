#include "fcm_provider.hpp"

#include "fcm_response.hpp"
#include "service_account.hpp"

#include <Poco/URI.h>

#include <algorithm>
#include <optional>
#include <thread>

namespace notify::fcm {
namespace {

using Clock = std::chrono::steady_clock;

// Behind the parent's relay (one upstream per address), a token_uri on another host than the endpoint needs an egress
// address of its own (egress.hosts): through the FCM route its exchange would reach the wrong upstream. The problem,
// or empty when there is none.
std::string token_route_problem(const http::HttpClientOptions& http, const std::string& endpoint,
                                const std::string& token_uri) {
  if (http.egress_address.empty()) return {};  // each URL's own host:port
  try {
    const Poco::URI token(token_uri);
    const Poco::URI fcm(endpoint);
    const auto port = std::to_string(token.getPort());
    if (token.getHost() == fcm.getHost() && token.getPort() == fcm.getPort()) return {};
    if (http::egress_address_for(http, token.getHost(), port) != http.egress_address) return {};
    return "the token_uri's host " + token.getHost() + ":" + port + " has no egress address of its own (egress.hosts)" +
           " and would go through " + http.egress_address + ", FCM's";
  } catch (const std::exception&) {
    return "the token_uri or the endpoint is not a URL";
  }
}

// One messages:send call: a notification to one of its device tokens, or to its topic or condition.
struct Call {
  std::size_t notification;
  std::string token;  // empty: the topic or condition
  std::string body;
  std::optional<SendOutcome> outcome;
};

}  // namespace

FcmProvider::FcmProvider(FcmOptions options, SecretStore& secrets, TransportRegistry& transports, Log& log)
    : options_(std::move(options)),
      secrets_(secrets),
      log_(log),
      http_(transports, options_.http, log),
      tokens_(http_, log) {
  options_.concurrency = std::max<std::size_t>(1, options_.concurrency);
  options_.max_attempts = std::max(1, options_.max_attempts);
}

ProviderHealth FcmProvider::health() const noexcept {
  try {
    auto secret = secrets_.get(options_.secret_name);
    if (!secret) return {false, "service account not provisioned (secret '" + options_.secret_name + "')"};
    auto account = parse_service_account(secret->reveal());
    if (!account) return {false, "secret '" + options_.secret_name + "': " + account.error().message};
    if (auto problem = token_route_problem(options_.http, options_.endpoint, account->token_uri); !problem.empty()) {
      return {false, "secret '" + options_.secret_name + "': " + problem};
    }
    return {true, "ready: project " + account->project_id + " at " + options_.endpoint + " via " +
                      options_.http.egress_transport +
                      (options_.http.egress_address.empty() ? "" : " " + options_.http.egress_address)};
  } catch (const std::exception& e) {
    return {false, std::string("fcm health: ") + e.what()};
  }
}

std::chrono::milliseconds FcmProvider::backoff(int attempt) {
  const toolkit::BackoffPolicy policy{options_.backoff_initial, options_.backoff_max};
  std::lock_guard lock(rng_mu_);
  return policy.delay(attempt - 1, rng_);
}

std::vector<DeliveryResult> FcmProvider::run(std::span<const Notification> batch, Clock::time_point deadline,
                                             ResultSink* sink) noexcept {
  std::vector<DeliveryResult> results(batch.size());
  toolkit::EarlyResults early(results, sink);
  try {
    auto all = [&](const DeliveryResult& r) {
      for (auto& x : results) x = r;
      return results;
    };
    auto secret = secrets_.get(options_.secret_name);
    if (!secret) {
      return all(DeliveryResult::retryable(
          "FCM service account not provisioned (secret '" + options_.secret_name + "')", std::chrono::seconds(5)));
    }
    auto account = parse_service_account(secret->reveal());
    secret->wipe();
    if (!account) {
      return all(DeliveryResult::retryable("secret '" + options_.secret_name + "': " + account.error().message,
                                           std::chrono::seconds(30)));
    }
    const std::string url = options_.endpoint + "/v1/projects/" + account->project_id + "/messages:send";

    // A notification that FCM would refuse for one target is refused whole, before anything is sent.
    std::vector<std::optional<DeliveryResult>> refused(batch.size());
    std::vector<Call> calls;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& n = batch[i];
      const std::string what = "notification " + n.request_id + ": ";
      if (!n.external_user_ids.empty()) {
        refused[i] = DeliveryResult::rejected(
            what + "external_user_ids are not FCM targets; give device_tokens, topic or condition");
        continue;
      }
      const int targets = (n.device_tokens.empty() ? 0 : 1) + (n.topic.empty() ? 0 : 1) + (n.condition.empty() ? 0 : 1);
      if (targets == 0) {
        refused[i] = DeliveryResult::rejected(what + "no FCM target; give device_tokens, topic or condition");
        continue;
      }
      if (targets > 1) {
        refused[i] = DeliveryResult::rejected(what + "give one of device_tokens, topic or condition");
        continue;
      }
      std::vector<Call> mine;
      if (!n.topic.empty() || !n.condition.empty()) {
        auto body = n.topic.empty() ? build_message(n, n.condition, TargetKind::condition)
                                    : build_message(n, n.topic, TargetKind::topic);
        if (!body) {
          refused[i] = DeliveryResult::rejected(body.error().message);
          continue;
        }
        mine.push_back({i, {}, std::move(body.value()), std::nullopt});
      }
      for (const auto& token : n.device_tokens) {
        auto body = build_message(n, token, TargetKind::token);
        if (!body) {
          refused[i] = DeliveryResult::rejected(body.error().message);
          break;
        }
        mine.push_back({i, token, std::move(body.value()), std::nullopt});
      }
      if (!refused[i])
        calls.insert(calls.end(), std::make_move_iterator(mine.begin()), std::make_move_iterator(mine.end()));
    }

    // Fold calls back onto notifications: a topic's one call is the notification's result; device tokens each get
    // their own (DeliveryResult::from_tokens), so the caller's retry carries only the tokens still retryable and no
    // token FCM took is pushed again (FCM has no idempotency key).
    std::vector<std::vector<const Call*>> calls_of(batch.size());
    for (const auto& c : calls) calls_of[c.notification].push_back(&c);
    const auto not_sent = DeliveryResult::retryable("not sent: the caller's deadline had passed");
    auto fold = [&](std::size_t i) -> DeliveryResult {
      if (refused[i]) return *refused[i];
      if (!batch[i].topic.empty() || !batch[i].condition.empty()) {  // one call, the notification's result
        const Call* c = calls_of[i].front();
        return c->outcome ? c->outcome->result : not_sent;
      }
      std::vector<TokenResult> tokens;
      std::chrono::milliseconds after{0};
      for (const Call* c : calls_of[i]) {
        if (!c->outcome) {
          tokens.push_back({c->token, TokenOutcome::retryable, {}, not_sent.reason});
          continue;
        }
        const auto& r = c->outcome->result;
        tokens.push_back(
            {c->token, token_outcome_of(c->outcome->result.outcome, c->outcome->invalid_token), r.reference, r.reason});
        if (r.outcome == Outcome::retryable) after = std::max(after, r.retry_after);
      }
      return DeliveryResult::from_tokens(std::move(tokens), after);
    };
    // Decided as soon as every call of it has a final answer (no retry will change it), and reported then.
    auto decide_if_final = [&](std::size_t i) {
      early.decide_when_final(
          i, calls_of[i], [](const Call* c) { return c->outcome && c->outcome->result.outcome != Outcome::retryable; },
          fold);
    };
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (refused[i]) early.decide(i, *refused[i]);
    }
    early.flush();

    std::vector<std::size_t> pending(calls.size());
    for (std::size_t c = 0; c < calls.size(); ++c) pending[c] = c;
    for (int attempt = 1; !pending.empty(); ++attempt) {
      if (Clock::now() >= deadline) break;
      auto token = tokens_.get(*account, deadline);
      if (!token) {
        // No token, no call: every call left keeps its last outcome, or this one.
        for (auto c : pending) {
          if (!calls[c].outcome)
            calls[c].outcome = SendOutcome{DeliveryResult::retryable(token.error().message), false};
        }
        break;
      }
      std::string authorization = "Bearer " + std::string(token->reveal());
      std::vector<std::size_t> again;
      for (std::size_t start = 0; start < pending.size(); start += options_.concurrency) {
        if (Clock::now() >= deadline) break;
        const auto end = std::min(pending.size(), start + options_.concurrency);
        std::vector<http::HttpRequest> requests;
        for (std::size_t p = start; p < end; ++p) {
          http::HttpRequest req;
          req.url = url;
          req.body = calls[pending[p]].body;
          req.headers = {{"Content-Type", "application/json; charset=UTF-8"}, {"Authorization", authorization}};
          requests.push_back(std::move(req));
        }
        auto answers = http_.perform_all(requests, deadline);
        for (auto& r : requests) {
          for (auto& h : r.headers) explicit_bzero(h.value.data(), h.value.size());
        }
        const auto now = std::chrono::system_clock::now();
        for (std::size_t p = start; p < end; ++p) {
          auto& call = calls[pending[p]];
          call.outcome = map_send_result(answers[p - start], now);
          if (call.outcome->token_refused) tokens_.invalidate();
          log_.debug("FCM send for " + batch[call.notification].request_id + ": " +
                     outcome_name(call.outcome->result.outcome) +
                     (call.outcome->result.reason.empty() ? "" : " (" + call.outcome->result.reason + ")"));
          if (call.outcome->result.outcome == Outcome::retryable) again.push_back(pending[p]);
        }
        for (std::size_t p = start; p < end; ++p) decide_if_final(calls[pending[p]].notification);
        early.flush();
      }
      explicit_bzero(authorization.data(), authorization.size());  // the token's copies live no longer than a round
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
      log_.info(std::to_string(again.size()) + " FCM call(s) retryable; retrying in " + std::to_string(delay.count()) +
                " ms, attempt " + std::to_string(attempt + 1) + "/" + std::to_string(options_.max_attempts));
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
      if (r.outcome == Outcome::retryable) r = DeliveryResult::retryable(std::string("fcm provider: ") + e.what());
    }
  }
  return results;
}

}  // namespace notify::fcm
