// The Braze provider against the fake Braze over real HTTPS on loopback: key and bodies, batching, 429/5xx with
// backoff, wrong key, certificate failures, stalls — and the key in no log line at any level.
#include "braze_provider.hpp"
#include "capturing_log.hpp"
#include "fake_braze.hpp"
#include "host_process.hpp"
#include "runtime/secret_store.hpp"
#include "tcp_transport.hpp"
#include "test_pki.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

using namespace notify;
using namespace notify::braze;
using namespace std::chrono_literals;
using notify::testing::FakeBraze;

namespace {

const std::string kKey = "braze-test-key-3f9a1c77e2b54d0b";

class TcpOnly final : public TransportRegistry {
 public:
  Result<std::shared_ptr<Transport>> transport(std::string_view name) noexcept override {
    if (name != "tcp") return Error{Errc::not_found, "no transport " + std::string(name)};
    return t_;
  }

 private:
  std::shared_ptr<Transport> t_ = std::make_shared<notify::tcp::TcpTransport>();
};

struct Fixture {
  notify::testing::TempDir dir;
  notify::testing::TestPki pki = notify::testing::make_test_pki(dir.path());
  std::unique_ptr<FakeBraze> fake;
  secrets::MemorySecretStore secrets;
  TcpOnly transports;
  notify::testing::CapturingLog log{LogLevel::trace};

  explicit Fixture(const std::filesystem::path* cert = nullptr, const std::filesystem::path* key = nullptr) {
    FakeBraze::Options o;
    o.api_key = kKey;
    o.cert_file = cert ? *cert : pki.server_cert;
    o.key_file = key ? *key : pki.server_key;
    fake = std::make_unique<FakeBraze>(o);
    secrets.put("braze.api_key", Secret(kKey), SecretOrigin::config);
  }

  BrazeOptions options() const {
    BrazeOptions o;
    o.http.endpoint = parse_endpoint(fake->url()).value();
    o.http.ca_file = pki.ca_cert.string();
    o.http.request_timeout = 5s;
    o.backoff_initial = 20ms;
    o.backoff_max = 100ms;
    o.max_attempts = 3;
    return o;
  }

  std::unique_ptr<BrazeProvider> provider(BrazeOptions o) {
    return std::make_unique<BrazeProvider>(o, secrets, transports, log);
  }
  std::unique_ptr<BrazeProvider> provider() { return provider(options()); }
};

std::vector<Notification> batch_of(std::size_t n) {
  std::vector<Notification> out;
  for (std::size_t i = 0; i < n; ++i) {
    Notification x;
    x.request_id = "r" + std::to_string(i);
    x.external_user_ids = {"user" + std::to_string(i)};
    x.title = "Hello";
    x.message = "World";
    out.push_back(x);
  }
  return out;
}

}  // namespace

TEST(BrazeProvider, DeliversOverTlsWithTheKeyBatchedByFifty) {
  Fixture f;
  auto p = f.provider();
  auto batch = batch_of(120);
  auto results = p->deliver(batch);
  ASSERT_EQ(results.size(), 120u);
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::delivered) << r.reason;
    EXPECT_EQ(r.reference.rfind("fake-dispatch-", 0), 0u);
  }
  auto reqs = f.fake->requests();
  ASSERT_EQ(reqs.size(), 3u);  // 50 + 50 + 20
  for (const auto& r : reqs) {
    EXPECT_TRUE(r.authorized);
    EXPECT_EQ(r.path, "/messages/send");
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.status, 201);
    EXPECT_LE(r.recipients.size(), 50u);
    EXPECT_EQ(r.host, "127.0.0.1:" + std::to_string(f.fake->port()));
  }
  auto accepted = f.fake->accepted_recipients();
  EXPECT_EQ(accepted.size(), 120u);
  for (const auto& [user, times] : accepted) EXPECT_EQ(times, 1) << user;
  EXPECT_TRUE(p->health().ready);
}

TEST(BrazeProvider, RateLimitAndServerErrorsAreRetriedHonouringResetAndDeliveredOnce) {
  Fixture f;
  const auto reset =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() + 1;
  FakeBraze::Injection limited;
  limited.status = 429;
  limited.headers = {
      {"x-ratelimit-limit", "250000"}, {"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", std::to_string(reset)}};
  limited.body = R"({"message": "rate limited"})";
  f.fake->inject(limited);
  FakeBraze::Injection unavailable;
  unavailable.status = 503;
  unavailable.body = "<html>Service Unavailable</html>";
  f.fake->inject(unavailable);
  auto p = f.provider();
  auto batch = batch_of(10);
  auto results = p->deliver(batch);
  for (const auto& r : results) EXPECT_EQ(r.outcome, Outcome::delivered) << r.reason;
  auto reqs = f.fake->requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].status, 429);
  EXPECT_EQ(reqs[1].status, 503);
  EXPECT_EQ(reqs[2].status, 201);
  for (const auto& [user, times] : f.fake->accepted_recipients()) EXPECT_EQ(times, 1) << user;
  EXPECT_TRUE(f.log.contains("HTTP 429 rate limited by Braze"));
  EXPECT_TRUE(f.log.contains("HTTP 503 from Braze"));
}

TEST(BrazeProvider, LongRateLimitWindowIsHandedBackAsRetryAfter) {
  Fixture f;
  const auto reset =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
      600;
  FakeBraze::Injection limited;
  limited.status = 429;
  limited.headers = {{"X-RateLimit-Reset", std::to_string(reset)}};
  f.fake->inject(limited);
  auto o = f.options();
  o.max_retry_wait = 2s;
  auto p = f.provider(o);
  auto batch = batch_of(1);
  auto r = p->deliver(batch);
  ASSERT_EQ(r[0].outcome, Outcome::retryable);
  EXPECT_GT(r[0].retry_after, std::chrono::seconds(500));
  EXPECT_EQ(f.fake->requests().size(), 1u);
}

TEST(BrazeProvider, WrongKeyIsRejectedWithoutRetries) {
  Fixture f;
  f.secrets.put("braze.api_key", Secret("not-the-right-key-123456"), SecretOrigin::config);
  auto p = f.provider();
  auto batch = batch_of(3);
  auto results = p->deliver(batch);
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::rejected);
    EXPECT_NE(r.reason.find("HTTP 401"), std::string::npos) << r.reason;
    EXPECT_NE(r.reason.find("Invalid API key"), std::string::npos) << r.reason;
    EXPECT_EQ(r.reason.find("not-the-right-key"), std::string::npos);
  }
  EXPECT_EQ(f.fake->requests().size(), 1u);
}

TEST(BrazeProvider, MissingKeyIsNotReadyAndRetryable) {
  Fixture f;
  secrets::MemorySecretStore empty;
  auto p = std::make_unique<BrazeProvider>(f.options(), empty, f.transports, f.log);
  EXPECT_FALSE(p->health().ready);
  EXPECT_NE(p->health().detail.find("api key not provisioned"), std::string::npos);
  auto batch = batch_of(1);
  auto r = p->deliver(batch);
  EXPECT_EQ(r[0].outcome, Outcome::retryable);
  EXPECT_EQ(f.fake->requests().size(), 0u);
}

TEST(BrazeProvider, CertificateForAnotherHostIsRefused) {
  notify::testing::TempDir d;
  auto pki = notify::testing::make_test_pki(d.path());
  Fixture f(&pki.wrong_host_cert, &pki.wrong_host_key);
  auto o = f.options();
  o.http.ca_file = pki.ca_cert.string();
  o.max_attempts = 1;
  auto p = f.provider(o);
  auto batch = batch_of(1);
  auto r = p->deliver(batch);
  // Decision: a TLS verification failure is retryable, not rejected. Nothing crossed the unverified channel, and the
  // cause (wrong route, MITM, a CA bundle not yet updated) is about the path, not the notification: rejecting would
  // drop valid pushes for good. The caller's backoff and dead-lettering bound the retries.
  EXPECT_EQ(r[0].outcome, Outcome::retryable);
  EXPECT_NE(r[0].reason.find("TLS"), std::string::npos) << r[0].reason;
  EXPECT_EQ(f.fake->requests().size(), 0u);  // nothing was sent over an unverified channel
}

TEST(BrazeProvider, UntrustedCaIsRefused) {
  notify::testing::TempDir d;
  auto pki = notify::testing::make_test_pki(d.path());
  Fixture f(&pki.rogue_cert, &pki.rogue_key);
  auto o = f.options();
  o.http.ca_file = f.pki.ca_cert.string();  // trusts the test CA, not the rogue one
  o.max_attempts = 1;
  auto p = f.provider(o);
  auto batch = batch_of(1);
  auto r = p->deliver(batch);
  // Decision: a TLS verification failure is retryable, not rejected. Nothing crossed the unverified channel, and the
  // cause (wrong route, MITM, a CA bundle not yet updated) is about the path, not the notification: rejecting would
  // drop valid pushes for good. The caller's backoff and dead-lettering bound the retries.
  EXPECT_EQ(r[0].outcome, Outcome::retryable);
  EXPECT_NE(r[0].reason.find("TLS"), std::string::npos) << r[0].reason;
  EXPECT_EQ(f.fake->requests().size(), 0u);
}

TEST(BrazeProvider, StalledRequestTimesOutAndIsRetried) {
  Fixture f;
  FakeBraze::Injection stall;
  stall.delay = 3s;  // longer than the request timeout below
  f.fake->inject(stall);
  auto o = f.options();
  o.http.request_timeout = 500ms;
  auto p = f.provider(o);
  auto batch = batch_of(2);
  auto r = p->deliver(batch);
  for (const auto& x : r) EXPECT_EQ(x.outcome, Outcome::delivered) << x.reason;
  EXPECT_TRUE(f.log.contains("no response within 500 ms"));
  EXPECT_TRUE(f.log.contains("may have reached Braze"));
}

TEST(BrazeProvider, MinorErrorsAreMappedBackToTheNotificationsTheyName) {
  Fixture f;
  FakeBraze::Injection minor;
  minor.minor_errors = {"user1 is not a valid external_user_id"};
  f.fake->inject(minor);
  auto p = f.provider();
  auto batch = batch_of(3);
  auto r = p->deliver(batch);
  EXPECT_EQ(r[0].outcome, Outcome::delivered);
  EXPECT_EQ(r[1].outcome, Outcome::rejected);
  EXPECT_NE(r[1].reason.find("not a valid"), std::string::npos);
  EXPECT_EQ(r[2].outcome, Outcome::delivered);
}

TEST(BrazeProvider, PlainHttpWorksForDevAndIsTheSameContract) {
  notify::testing::TempDir d;
  FakeBraze::Options o;
  o.api_key = kKey;
  o.tls = false;
  FakeBraze fake(o);
  secrets::MemorySecretStore secrets;
  secrets.put("braze.api_key", Secret(kKey), SecretOrigin::config);
  TcpOnly transports;
  notify::testing::CapturingLog log;
  BrazeOptions bo;
  bo.http.endpoint = parse_endpoint(fake.url()).value();
  BrazeProvider p(bo, secrets, transports, log);
  auto batch = batch_of(2);
  auto r = p.deliver(batch);
  EXPECT_EQ(r[0].outcome, Outcome::delivered) << r[0].reason;
}

TEST(BrazeProvider, PoolSizeCapsConcurrentConnectionsAcrossCallers) {
  Fixture f;
  f.fake->set_latency(100ms);
  auto o = f.options();
  o.http.pool_size = 2;
  auto p = f.provider(o);
  // Three callers at once, each with a batch that needs four Braze requests.
  std::vector<std::thread> callers;
  std::atomic<int> delivered{0};
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&, c] {
      auto batch = batch_of(200);
      for (auto& n : batch) n.external_user_ids = {"c" + std::to_string(c) + "-" + n.external_user_ids[0]};
      for (const auto& r : p->deliver(batch)) delivered += r.outcome == Outcome::delivered ? 1 : 0;
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(delivered.load(), 600);
  EXPECT_EQ(f.fake->requests().size(), 12u);
  EXPECT_LE(f.fake->max_concurrent_requests(), 2u);
  EXPECT_GE(f.fake->max_concurrent_requests(), 1u);
}

TEST(BrazeProvider, KeyNeverAppearsInAnyLogLineAtTraceLevel) {
  Fixture f;
  FakeBraze::Injection e500;
  e500.status = 500;
  e500.body = "upstream said: Bearer " + kKey;  // even a server echoing the key must not leak it
  f.fake->inject(e500);
  auto o = f.options();
  o.max_attempts = 1;
  auto p = f.provider(o);
  auto batch = batch_of(2);
  auto r = p->deliver(batch);
  for (const auto& x : r) EXPECT_EQ(x.reason.find(kKey), std::string::npos) << x.reason;
  p->deliver(batch);
  EXPECT_FALSE(f.log.all().empty());
  EXPECT_EQ(f.log.all().find(kKey), std::string::npos);
}

TEST(BrazeEndpoint, ParsesAndRefusesBadUrls) {
  auto e = parse_endpoint("https://rest.iad-01.braze.com");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "rest.iad-01.braze.com");
  EXPECT_EQ(e->port, 443);
  EXPECT_EQ(e->host_header(), "rest.iad-01.braze.com");
  EXPECT_EQ(parse_endpoint("http://127.0.0.1:8080/")->port, 8080);
  EXPECT_FALSE(parse_endpoint("ftp://x").ok());
  EXPECT_FALSE(parse_endpoint("https://x/messages/send").ok());
  EXPECT_FALSE(parse_endpoint("https://x:99999").ok());
}

// deliver_by: no retry waits past the caller's deadline (the enclave passes the link's budget), and nothing is started
// once it has passed — the wait is handed back as retry_after instead, so the caller's re-send does not find the call
// still backing off here.
TEST(BrazeProvider, RetriesStopAtTheCallersDeadline) {
  Fixture f;
  FakeBraze::Injection unavailable;
  unavailable.status = 503;
  unavailable.body = "<html>Service Unavailable</html>";
  f.fake->inject(unavailable, 5);
  auto o = f.options();
  o.backoff_initial = 2s;  // one backoff is longer than the caller waits
  o.backoff_max = 2s;
  o.max_attempts = 5;
  auto p = f.provider(o);
  auto batch = batch_of(1);
  auto results = p->deliver_by(batch, std::chrono::steady_clock::now() + 500ms);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, Outcome::retryable) << results[0].reason;
  EXPECT_NE(results[0].reason.find("HTTP 503"), std::string::npos) << results[0].reason;
  EXPECT_GE(results[0].retry_after, 1s);  // the backoff it did not wait, handed back
  EXPECT_EQ(f.fake->requests().size(), 1u) << "a retry started past the caller's deadline";

  // A deadline already passed: nothing is sent at all.
  auto late = p->deliver_by(batch, std::chrono::steady_clock::now() - 1ms);
  EXPECT_EQ(late[0].outcome, Outcome::retryable);
  EXPECT_NE(late[0].reason.find("deadline had passed"), std::string::npos) << late[0].reason;
  EXPECT_EQ(f.fake->requests().size(), 1u);
}
