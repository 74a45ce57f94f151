// The webhook provider against a Standard Webhooks receiver over real TLS on loopback, which verifies every signature
// with its own HMAC: delivery, retries on 429/503/dropped connections, rejections, deadlines, secrets never logged.
#include "webhook_provider.hpp"
#include "capturing_log.hpp"
#include "counting_transports.hpp"
#include "fake_webhook_receiver.hpp"
#include "host_process.hpp"
#include "recording_sink.hpp"
#include "runtime/secret_store.hpp"
#include "test_pki.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

using namespace notify;
using namespace notify::webhook;
using namespace std::chrono_literals;
using notify::testing::FakeWebhookReceiver;
using Reply = notify::testing::HttpsTestServer::Reply;

namespace {

const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Fixture {
  notify::testing::TempDir dir;
  notify::testing::TestPki pki = notify::testing::make_test_pki(dir.path());
  FakeWebhookReceiver receiver{pki.server_cert, pki.server_key, kSecret};
  secrets::MemorySecretStore secrets;
  notify::testing::CountingRegistry transports;
  notify::testing::CapturingLog log{LogLevel::trace};

  Fixture() { secrets.put("webhook.webhook_secret", Secret(kSecret), SecretOrigin::config); }

  WebhookOptions options() const {
    WebhookOptions o;
    o.url = receiver.url("/hooks/notify?token=path-token-123");
    o.http.ca_file = pki.ca_cert.string();
    o.http.request_timeout = 5s;
    o.backoff_initial = 10ms;
    o.backoff_max = 50ms;
    return o;
  }
  std::unique_ptr<WebhookProvider> provider(WebhookOptions o) {
    return std::make_unique<WebhookProvider>(std::move(o), secrets, transports, log);
  }
  std::unique_ptr<WebhookProvider> provider() { return provider(options()); }
};

std::vector<Notification> batch_of(std::size_t n, const std::string& prefix = "req-") {
  std::vector<Notification> out;
  for (std::size_t i = 0; i < n; ++i) {
    Notification x;
    x.request_id = prefix + std::to_string(i);
    x.external_user_ids = {"user" + std::to_string(i)};
    x.title = "Hello";
    x.message = "World " + std::to_string(i);
    x.custom_data = {{"seq", std::to_string(i)}};
    out.push_back(x);
  }
  return out;
}

}  // namespace

TEST(WebhookProvider, DeliversSignedJsonThatTheReceiverVerifies) {
  Fixture f;
  auto p = f.provider();
  EXPECT_TRUE(p->health().ready) << p->health().detail;
  auto batch = batch_of(5);
  auto results = p->deliver(batch);
  ASSERT_EQ(results.size(), 5u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].outcome, Outcome::delivered) << results[i].reason;
    EXPECT_EQ(results[i].reference, batch[i].request_id);
  }
  auto seen = f.receiver.deliveries();
  ASSERT_EQ(seen.size(), 5u);
  for (const auto& d : seen) {
    EXPECT_TRUE(d.verified) << d.id << " " << d.signature;
    EXPECT_EQ(d.content_type, "application/json");
    EXPECT_EQ(d.path, "/hooks/notify?token=path-token-123");
    Poco::JSON::Parser parser;
    auto root = parser.parse(d.body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(root->getObject("data")->getValue<std::string>("request_id"), d.id);
  }
  EXPECT_EQ(f.receiver.accepted().size(), 5u);
  // Neither the secret nor the URL's path (which may carry a token) is logged.
  EXPECT_FALSE(f.log.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")) << f.log.all();
  EXPECT_FALSE(f.log.contains("path-token-123")) << f.log.all();
}

// deliver_streaming: a rejected notification is reported before any call, a delivered one when its POST ends, and
// one the receiver answered 503 only after its retry — the probe (accepted deliveries at each report) shows when.
TEST(WebhookProvider, StreamingReportsEachNotificationWhenItsPostIsFinal) {
  Fixture f;
  auto o = f.options();
  o.concurrency = 1;  // one POST at a time, in batch order: req-0's first, and it gets the 503
  f.receiver.inject(Reply{503, {}, "unavailable", {}, false});
  auto p = f.provider(o);
  notify::testing::RecordingSink sink([&] {
    std::size_t n = 0;
    for (const auto& [id, count] : f.receiver.accepted()) n += static_cast<std::size_t>(count);
    return n;
  });
  auto batch = batch_of(2);
  Notification bad = batch[0];
  bad.request_id = "req-bad";
  bad.trigger_properties_json = "[1, 2]";  // not a JSON object: rejected before any POST
  batch.push_back(bad);
  auto r = p->deliver_streaming(batch, std::chrono::steady_clock::now() + 10s, sink);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
  EXPECT_EQ(r[1].outcome, Outcome::delivered) << r[1].reason;
  const auto reports = sink.reports();
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[0].index, 2u) << "the unsendable one first";
  EXPECT_EQ(r[2].outcome, Outcome::rejected) << r[2].reason;
  EXPECT_EQ(reports[0].result.outcome, Outcome::rejected);
  EXPECT_EQ(reports[0].probe, 0u);
  EXPECT_EQ(reports[1].index, 1u);  // when its POST ended, before req-0's retry
  EXPECT_EQ(reports[1].probe, 1u);
  EXPECT_EQ(reports[2].index, 0u);  // after its retry
  EXPECT_EQ(reports[2].probe, 2u);
}

TEST(WebhookProvider, AWrongSecretIsWhatTheReceiverRejects) {
  Fixture f;
  f.secrets.put("webhook.webhook_secret", Secret("whsec_" + std::string(32, 'B')), SecretOrigin::config);
  auto p = f.provider();
  auto results = p->deliver(batch_of(1));
  EXPECT_EQ(results[0].outcome, Outcome::rejected);
  EXPECT_NE(results[0].reason.find("HTTP 401"), std::string::npos) << results[0].reason;
  ASSERT_EQ(f.receiver.deliveries().size(), 1u);
  EXPECT_FALSE(f.receiver.deliveries()[0].verified);
}

TEST(WebhookProvider, RetriesRateLimitsAndServerErrorsUnderTheSameWebhookId) {
  Fixture f;
  f.receiver.inject(Reply{429, {{"Retry-After", "0"}}, "slow down", {}, false});
  f.receiver.inject(Reply{503, {}, "unavailable", {}, false});
  auto p = f.provider();
  auto results = p->deliver(batch_of(1));
  EXPECT_EQ(results[0].outcome, Outcome::delivered) << results[0].reason;
  auto seen = f.receiver.deliveries();
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& d : seen) {
    EXPECT_EQ(d.id, "req-0");
    EXPECT_TRUE(d.verified);
  }
  EXPECT_EQ(f.receiver.accepted().at("req-0"), 1);
}

TEST(WebhookProvider, ALongRetryAfterGoesBackToTheCaller) {
  Fixture f;
  f.receiver.inject(Reply{429, {{"Retry-After", "120"}}, {}, {}, false});
  auto p = f.provider();
  auto results = p->deliver(batch_of(1));
  EXPECT_EQ(results[0].outcome, Outcome::retryable);
  EXPECT_EQ(results[0].retry_after, 120s);
  EXPECT_EQ(f.receiver.deliveries().size(), 1u);
}

TEST(WebhookProvider, ClientErrorsAreRejectedAndNotRetried) {
  Fixture f;
  f.receiver.inject(Reply{422, {}, R"({"error":"unknown user"})", {}, false});
  auto p = f.provider();
  auto results = p->deliver(batch_of(1));
  EXPECT_EQ(results[0].outcome, Outcome::rejected);
  EXPECT_NE(results[0].reason.find("unknown user"), std::string::npos);
  EXPECT_EQ(f.receiver.deliveries().size(), 1u);
}

TEST(WebhookProvider, ExhaustedRetriesAnswerRetryableSayingTheReceiverMayHaveIt) {
  Fixture f;
  f.receiver.inject(Reply{200, {}, {}, {}, true}, 3);  // read, then the connection drops unanswered, three times
  auto o = f.options();
  o.max_attempts = 3;
  auto p = f.provider(o);
  auto results = p->deliver(batch_of(1));
  EXPECT_EQ(results[0].outcome, Outcome::retryable);
  EXPECT_NE(results[0].reason.find("may have processed it"), std::string::npos) << results[0].reason;
  EXPECT_EQ(f.receiver.deliveries().size(), 3u);
}

TEST(WebhookProvider, NothingStartsPastTheDeadline) {
  Fixture f;
  auto p = f.provider();
  auto results = p->deliver_by(batch_of(3), std::chrono::steady_clock::now() - 1ms);
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::retryable);
    EXPECT_NE(r.reason.find("deadline"), std::string::npos) << r.reason;
  }
  EXPECT_TRUE(f.receiver.deliveries().empty());
  EXPECT_EQ(f.transports.tcp->connects.load(), 0);
}

TEST(WebhookProvider, NoRetryIsWaitedForPastTheDeadline) {
  Fixture f;
  f.receiver.inject(Reply{503, {{"Retry-After", "5"}}, {}, {}, false});
  auto o = f.options();
  o.max_retry_wait = 60s;
  auto p = f.provider(o);
  auto results = p->deliver_by(batch_of(1), std::chrono::steady_clock::now() + 3s);
  EXPECT_EQ(results[0].outcome, Outcome::retryable);
  EXPECT_EQ(results[0].retry_after, 5s);  // handed back rather than waited out
  EXPECT_EQ(f.receiver.deliveries().size(), 1u);
}

TEST(WebhookProvider, MissingOrMalformedSecretsSendNothingAndSayWhich) {
  Fixture f;
  secrets::MemorySecretStore empty;
  auto p = std::make_unique<WebhookProvider>(f.options(), empty, f.transports, f.log);
  EXPECT_FALSE(p->health().ready);
  auto r = p->deliver(batch_of(1));
  EXPECT_EQ(r[0].outcome, Outcome::retryable);
  EXPECT_NE(r[0].reason.find("secret 'webhook.webhook_secret'"), std::string::npos) << r[0].reason;

  const std::string bad = "whsec_this-is-not-base64-secret-value";
  f.secrets.put("webhook.webhook_secret", Secret(bad), SecretOrigin::config);
  auto q = f.provider();
  EXPECT_FALSE(q->health().ready);
  EXPECT_EQ(q->health().detail.find("this-is-not"), std::string::npos);
  auto r2 = q->deliver(batch_of(1));
  EXPECT_EQ(r2[0].outcome, Outcome::retryable);
  EXPECT_EQ(r2[0].reason.find("this-is-not"), std::string::npos) << r2[0].reason;
  EXPECT_TRUE(f.receiver.deliveries().empty());
}

TEST(WebhookProvider, AnUnsendableNotificationIsRejectedAloneAndTheRestGo) {
  Fixture f;
  auto batch = batch_of(3);
  batch[1].trigger_properties_json = "{broken";
  auto p = f.provider();
  auto results = p->deliver(batch);
  EXPECT_EQ(results[0].outcome, Outcome::delivered);
  EXPECT_EQ(results[1].outcome, Outcome::rejected);
  EXPECT_EQ(results[2].outcome, Outcome::delivered);
  EXPECT_EQ(f.receiver.deliveries().size(), 2u);
}

TEST(WebhookProvider, ALargeBatchRunsConcurrentlyAndEachIsDeliveredOnce) {
  Fixture f;
  auto o = f.options();
  o.concurrency = 8;
  o.http.max_connections = 4;
  auto p = f.provider(o);
  auto batch = batch_of(40);
  auto results = p->deliver(batch);
  for (const auto& r : results) EXPECT_EQ(r.outcome, Outcome::delivered) << r.reason;
  auto accepted = f.receiver.accepted();
  EXPECT_EQ(accepted.size(), 40u);
  for (const auto& [id, n] : accepted) EXPECT_EQ(n, 1) << id;
  EXPECT_LE(f.transports.tcp->connects.load(), 4);
}
