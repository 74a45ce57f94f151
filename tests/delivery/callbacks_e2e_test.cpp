// Delivery callbacks through real hosts: an enclave with the log provider, a parent with a SQLite queue and
// `callbacks:`, and a receiver over real TLS on loopback (the test PKI) that checks every Standard Webhooks signature
// with its own HMAC-SHA256 (OpenSSL directly, not the code under test) before it acknowledges an event.
#include "host_process.hpp"
#include "http_call.hpp"
#include "metric_page.hpp"
#include "test_pki.hpp"
#include "wait_until.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "ingress-token-callbacks-1234";
// 32 random bytes, base64: the shape Standard Webhooks secrets have.
const std::string kKeyBase64 = "c2VjcmV0LWtleS1mb3ItY2FsbGJhY2stdGVzdHMtMTI=";
const std::string kSecret = "whsec_" + kKeyBase64;

std::vector<unsigned char> decode_key() {
  std::vector<unsigned char> out(kKeyBase64.size());
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(kKeyBase64.data()),
                                static_cast<int>(kKeyBase64.size()));
  out.resize(static_cast<std::size_t>(n - (kKeyBase64.size() - kKeyBase64.find_last_not_of('=') - 1)));
  return out;
}

// The receiver's own check, as a Standard Webhooks consumer would write it.
bool signature_valid(const std::string& id, const std::string& timestamp, const std::string& body,
                     const std::string& header) {
  const auto key = decode_key();
  const std::string content = id + "." + timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac, &len);
  std::string expected(4 * ((len + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(expected.data()), mac, static_cast<int>(len));
  // The header may list several space-separated signatures; one matching v1 is enough.
  std::istringstream list(header);
  for (std::string sig; list >> sig;) {
    if (sig.rfind("v1,", 0) != 0) continue;
    const auto got = sig.substr(3);
    if (got.size() == expected.size() && CRYPTO_memcmp(got.data(), expected.data(), got.size()) == 0) return true;
  }
  return false;
}

struct Received {
  std::string id, type, request_id, state;
  std::vector<std::string> invalid_tokens;
  bool signature_ok = false;
};

class Receiver {
 public:
  enum class Mode { accept, unavailable };

  /// Bound at once but listening only after up(): until then a connection is refused, as to a receiver that is down.
  explicit Receiver(const TestPki& pki) : Receiver(pki.server_cert, pki.server_key) {}
  Receiver(const std::filesystem::path& cert, const std::filesystem::path& key) {
    Poco::Net::Context::Params cp;
    cp.privateKeyFile = key.string();
    cp.certificateFile = cert.string();
    cp.verificationMode = Poco::Net::Context::VERIFY_NONE;
    cp.loadDefaultCAs = false;
    ctx_ = new Poco::Net::Context(Poco::Net::Context::SERVER_USE, cp);  // NOLINT: AutoPtr owns it
    socket_ = std::make_unique<Poco::Net::SecureServerSocket>(ctx_);
    socket_->bind(Poco::Net::SocketAddress("127.0.0.1", 0), false);
    port_ = socket_->address().port();
  }
  ~Receiver() {
    if (server_) server_->stopAll(true);
  }

  void up() {
    socket_->listen(64);
    auto params = new Poco::Net::HTTPServerParams();  // NOLINT: Poco reference-counts it
    params->setMaxThreads(8);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), *socket_, params);  // NOLINT
    server_->start();
  }

  [[nodiscard]] std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/hooks/notify"; }
  void set_mode(Mode m) { mode_ = m; }
  void set_delay(std::chrono::milliseconds d) { delay_ms_ = d.count(); }
  [[nodiscard]] int refused() const { return refused_.load(); }

  std::vector<Received> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::size_t count() const {
    std::lock_guard lock(mu_);
    return events_.size();
  }

 private:
  void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
    std::string body;
    Poco::StreamCopier::copyToString(req.stream(), body);
    if (const auto d = delay_ms_.load(); d > 0) std::this_thread::sleep_for(std::chrono::milliseconds(d));
    if (mode_.load() == Mode::unavailable || req.getURI() != "/hooks/notify") {
      ++refused_;
      resp.setStatus(Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE);
      resp.setContentLength(0);
      resp.send();
      return;
    }
    Received r;
    r.id = req.get("webhook-id", "");
    const auto ts = req.get("webhook-timestamp", "");
    r.signature_ok = signature_valid(r.id, ts, body, req.get("webhook-signature", ""));
    // Standard Webhooks receivers also refuse stale timestamps (replay); this one sends at most minutes late.
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (ts.empty() || std::llabs(now - std::stoll(ts)) > 300) r.signature_ok = false;
    try {
      auto o = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
      r.type = o->getValue<std::string>("type");
      r.request_id = o->getObject("data")->getValue<std::string>("request_id");
      r.state = o->getObject("data")->getValue<std::string>("state");
      if (auto invalid = o->getObject("data")->getArray("invalid_tokens")) {
        for (std::size_t i = 0; i < invalid->size(); ++i) {
          r.invalid_tokens.push_back(invalid->getElement<std::string>(static_cast<unsigned>(i)));
        }
      }
    } catch (const std::exception&) {
      r.signature_ok = false;
    }
    const bool ok = r.signature_ok;
    {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(r));
    }
    resp.setStatus(ok ? Poco::Net::HTTPResponse::HTTP_NO_CONTENT : Poco::Net::HTTPResponse::HTTP_UNAUTHORIZED);
    resp.setContentLength(0);
    resp.send();
  }

  class Handler final : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(Receiver& r) : r_(r) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
      r_.handle(req, resp);
    }

   private:
    Receiver& r_;
  };
  class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(Receiver& r) : r_(r) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
      return new Handler(r_);  // NOLINT: Poco takes ownership
    }

   private:
    Receiver& r_;
  };

  Poco::Net::Context::Ptr ctx_;
  std::unique_ptr<Poco::Net::SecureServerSocket> socket_;  // not default-constructed: that needs Poco's app config
  Poco::UInt16 port_ = 0;
  std::atomic<Mode> mode_{Mode::accept};
  std::atomic<std::int64_t> delay_ms_{0};
  std::atomic<int> refused_{0};
  mutable std::mutex mu_;
  std::vector<Received> events_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

HttpReply call(const std::string& address, const std::string& method, const std::string& path,
               const std::string& body = "") {
  return http_call(address, method, path, body, kToken);
}

std::string state_of(const std::string& address, const std::string& id) {
  auto r = call(address, "GET", "/v1/notifications/" + id);
  if (r.status != 200) return "http-" + std::to_string(r.status);
  return Poco::JSON::Parser().parse(r.body).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("state");
}

std::string one(const std::string& id, const std::string& user = "user-1") {
  return R"({"request_id": ")" + id + R"(", "external_user_id": ")" + user + R"(", "title": "T", "message": "M"})";
}

std::string metric(const std::string& address, const std::string& name) {
  return metric_text(call(address, "GET", "/metrics").body, name).value_or("");
}

struct Topology {
  TempDir dir;
  TestPki pki = make_test_pki(dir.path());
  Receiver receiver{pki};
  std::unique_ptr<HostProcess> enclave, parent;
  std::string ingress;

  explicit Topology(const std::string& extra_callbacks = "") {
    enclave = std::make_unique<HostProcess>(
        "node: enclave-callbacks\n"
        "providers:\n"
        "  - plugin: log\n"
        "    config: {output: " +
        (dir.path() / "delivered.jsonl").string() +
        ", reject_user_ids: [bad-user], retry_user_ids: [flaky-user], invalid_tokens: [gone-token]}\n"
        "serve: {transport: tcp, listen: '127.0.0.1:0'}\n");
    const auto enclave_address = enclave->wait_listening().value_or("");
    parent_yaml =
        ("node: parent-callbacks\n"
         "forward: {transport: tcp, address: '" +
         enclave_address +
         "', request_timeout: 5s, backoff_initial: 20ms, backoff_max: 200ms}\n"
         "queue: {path: '" +
         (dir.path() / "queue.db").string() +
         "', max_attempts: 2, backoff_initial: 50ms, backoff_max: 100ms, lease: 2s, poll_interval: 50ms}\n"
         "callbacks: {url: '" +
         receiver.url() + "', secret: '${CALLBACK_SECRET}', ca_file: '" + pki.ca_cert.string() +
         "', backoff_initial: 50ms, backoff_max: 200ms" + extra_callbacks +
         "}\n"
         "ingress: {listen: '127.0.0.1:0', token: '${INGRESS_TOKEN}'}\n");
    start_parent();
  }

  /// Starts the parent (again: on the same queue and outbox files after a kill).
  void start_parent() {
    parent = std::make_unique<HostProcess>(
        parent_yaml, std::map<std::string, std::string>{{"INGRESS_TOKEN", kToken}, {"CALLBACK_SECRET", kSecret}});
    ingress = parent->wait_for(R"(ingress listening on (\S+))", 20s).value_or("");
  }

  std::string parent_yaml;
};

/// Another process's write transaction held on the parent's outbox file: the parent's appends wait out their busy
/// timeout and fail, as a full disk or a broken file would make them fail. Released at the end of the scope or by
/// release().
class OutboxWriteLock {
 public:
  explicit OutboxWriteLock(const std::filesystem::path& outbox) {
    if (sqlite3_open(outbox.c_str(), &db_) != SQLITE_OK ||
        sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error("cannot lock " + outbox.string() + ": " + sqlite3_errmsg(db_));
    }
  }
  ~OutboxWriteLock() { release(); }
  OutboxWriteLock(const OutboxWriteLock&) = delete;
  OutboxWriteLock& operator=(const OutboxWriteLock&) = delete;
  void release() {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::map<std::string, int> ids_received(const Receiver& r) {
  std::map<std::string, int> out;
  for (const auto& e : r.events()) ++out[e.id];
  return out;
}

}  // namespace

TEST(Callbacks, EachOutcomeArrivesOnceSigned) {
  Topology t;
  t.receiver.up();
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  ASSERT_EQ(call(t.ingress, "POST", "/v1/notifications",
                 R"({"notifications": [)" + one("ok-1") + "," + one("no-1", "bad-user") + "," +
                     one("dies-1", "flaky-user") + "]}")
                .status,
            202);
  ASSERT_TRUE(wait_until([&] { return t.receiver.count() >= 3; }, 30s)) << t.parent->output();
  // Nothing more comes: wait until the outbox is empty, then look.
  ASSERT_TRUE(wait_until([&] { return metric(t.ingress, "notify_callbacks_pending") == "0"; }, 10s));
  const auto events = t.receiver.events();
  ASSERT_EQ(events.size(), 3u);
  std::map<std::string, Received> by_id;
  for (const auto& e : events) {
    EXPECT_TRUE(e.signature_ok) << e.id;
    by_id[e.id] = e;
  }
  ASSERT_EQ(by_id.size(), 3u);
  EXPECT_EQ(by_id["ok-1:delivered"].type, "notification.delivered");
  EXPECT_EQ(by_id["ok-1:delivered"].request_id, "ok-1");
  EXPECT_EQ(by_id["no-1:rejected"].type, "notification.rejected");
  EXPECT_EQ(by_id["dies-1:dead"].type, "notification.dead");
  EXPECT_EQ(by_id["dies-1:dead"].state, "dead");
  EXPECT_EQ(metric(t.ingress, "notify_callbacks_sent_total"), "3");
  EXPECT_EQ(metric(t.ingress, "notify_callbacks_failed_total"), "0");
  const auto log = t.parent->output();
  EXPECT_EQ(log.find(kKeyBase64), std::string::npos) << "the callback secret leaked into the log";
  EXPECT_EQ(log.find(kToken), std::string::npos);
}

TEST(Callbacks, InvalidDeviceTokensAreReportedWithTheOutcome) {
  Topology t;
  t.receiver.up();
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  ASSERT_EQ(call(t.ingress, "POST", "/v1/notifications",
                 R"({"request_id": "tok-1", "device_tokens": ["good-token", "gone-token"], "message": "M"})")
                .status,
            202);
  ASSERT_TRUE(wait_until([&] { return t.receiver.count() >= 1; }, 30s)) << t.parent->output();
  const auto events = t.receiver.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].signature_ok);
  EXPECT_EQ(events[0].id, "tok-1:delivered");  // one token delivered: the notification is
  EXPECT_EQ(events[0].invalid_tokens, std::vector<std::string>{"gone-token"});
  EXPECT_EQ(metric(t.ingress, "notify_invalid_tokens_total"), "1");
  auto status = call(t.ingress, "GET", "/v1/notifications/tok-1");
  EXPECT_NE(status.body.find(R"("invalid_tokens":["gone-token"])"), std::string::npos) << status.body;
}

TEST(Callbacks, PerNotificationUrlOnlyWhenAllowed) {
  {
    Topology t;  // allow_per_notification_url defaults to false
    t.receiver.up();
    ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
    auto r = call(t.ingress, "POST", "/v1/notifications",
                  R"({"notifications": [)" + one("u-0") + R"(, {"request_id": "u-1", "external_user_id": "x", )" +
                      R"("message": "m", "callback_url": "https://127.0.0.1:1/cb"}]})");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("notifications[1].callback_url"), std::string::npos) << r.body;
    EXPECT_EQ(call(t.ingress, "GET", "/v1/notifications/u-0").status, 404);  // nothing of the batch was stored
  }
  Topology t(", allow_per_notification_url: true");
  Receiver own(t.pki);
  own.up();
  t.receiver.up();
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  auto plain_http = call(t.ingress, "POST", "/v1/notifications",
                         R"({"request_id": "u-2", "external_user_id": "x", "message": "m", )"
                         R"("callback_url": "http://hooks.example.com/cb"})");
  EXPECT_EQ(plain_http.status, 400) << plain_http.body;
  EXPECT_NE(plain_http.body.find("callback_url: plain http"), std::string::npos) << plain_http.body;
  ASSERT_EQ(call(t.ingress, "POST", "/v1/notifications",
                 R"({"notifications": [)" + one("u-3") + R"(, {"request_id": "u-4", "external_user_id": "x", )" +
                     R"("message": "m", "callback_url": ")" + own.url() + R"("}]})")
                .status,
            202);
  ASSERT_TRUE(wait_until([&] { return metric(t.ingress, "notify_callbacks_sent_total") == "2"; }, 30s))
      << t.parent->output();
  EXPECT_EQ(ids_received(t.receiver), (std::map<std::string, int>{{"u-3:delivered", 1}}));
  EXPECT_EQ(ids_received(own), (std::map<std::string, int>{{"u-4:delivered", 1}}));
  for (const auto& e : own.events()) EXPECT_TRUE(e.signature_ok);
}

TEST(Callbacks, AReceiverDownForAWhileGetsThemAllLater) {
  Topology t;  // the receiver is bound but not listening: every attempt is refused
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  std::set<std::string> expected;
  std::string batch;
  for (int i = 0; i < 12; ++i) {
    const auto id = "down-" + std::to_string(i);
    batch += (batch.empty() ? "" : ",") + one(id, i % 4 == 3 ? "bad-user" : "user-1");
    expected.insert(id + (i % 4 == 3 ? ":rejected" : ":delivered"));
  }
  ASSERT_EQ(call(t.ingress, "POST", "/v1/notifications", R"({"notifications": [)" + batch + "]}").status, 202);
  for (int i = 0; i < 12; ++i) {
    const auto id = "down-" + std::to_string(i);
    ASSERT_TRUE(
        wait_until([&] { return state_of(t.ingress, id) != "queued" && state_of(t.ingress, id) != "in_flight"; }, 20s));
  }
  // Refused, retried with backoff, all still waiting.
  ASSERT_TRUE(
      wait_until([&] { return std::stoi("0" + metric(t.ingress, "notify_callbacks_failed_total")) >= 12; }, 20s))
      << t.parent->output();
  EXPECT_EQ(metric(t.ingress, "notify_callbacks_pending"), "12");
  // Then it answers, but 503 for a while: still nothing is acknowledged, nothing is lost.
  t.receiver.set_mode(Receiver::Mode::unavailable);
  t.receiver.up();
  ASSERT_TRUE(wait_until([&] { return t.receiver.refused() >= 12; }, 20s)) << t.parent->output();
  EXPECT_EQ(t.receiver.count(), 0u);
  EXPECT_EQ(metric(t.ingress, "notify_callbacks_pending"), "12");
  // Up for real: every event arrives, each with a valid signature.
  t.receiver.set_mode(Receiver::Mode::accept);
  ASSERT_TRUE(wait_until([&] { return metric(t.ingress, "notify_callbacks_pending") == "0"; }, 30s))
      << t.parent->output();
  std::set<std::string> got;
  for (const auto& e : t.receiver.events()) {
    EXPECT_TRUE(e.signature_ok) << e.id;
    got.insert(e.id);
  }
  EXPECT_EQ(got, expected);
}

TEST(Callbacks, UnacknowledgedEventsSurviveAParentKill) {
  Topology t;  // the receiver refuses connections: everything waits in the outbox
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  std::string batch;
  for (int i = 0; i < 6; ++i) batch += (batch.empty() ? "" : ",") + one("kill-" + std::to_string(i));
  ASSERT_EQ(call(t.ingress, "POST", "/v1/notifications", R"({"notifications": [)" + batch + "]}").status, 202);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(wait_until([&] { return state_of(t.ingress, "kill-" + std::to_string(i)) == "delivered"; }, 20s));
  }
  ASSERT_TRUE(wait_until([&] { return metric(t.ingress, "notify_callbacks_pending") == "6"; }, 10s));
  t.parent->signal(SIGKILL);
  t.parent->wait(10s);
  t.receiver.up();
  t.start_parent();  // the same queue and outbox files
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  ASSERT_TRUE(wait_until([&] { return t.receiver.count() >= 6; }, 30s)) << t.parent->output();
  std::set<std::string> got;
  for (const auto& e : t.receiver.events()) {
    EXPECT_TRUE(e.signature_ok) << e.id;
    got.insert(e.id);
  }
  EXPECT_EQ(got.size(), 6u);
  EXPECT_EQ(got.count("kill-0:delivered"), 1u);
}

// The outcome is stored in the queue but its event cannot be written to the outbox: the queue keeps it noted as
// unannounced, and the dispatcher offers it again (with backoff) once the outbox takes writes.
TEST(Callbacks, AnOutcomeWhoseOutboxWriteFailedIsCalledBackLater) {
  Topology t;
  t.receiver.up();
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  auto lock = std::make_unique<OutboxWriteLock>(t.dir.path() / "queue.db.callbacks");
  ASSERT_EQ(call(t.ingress, "POST", "/v1/notifications", one("held-1")).status, 202);
  ASSERT_TRUE(wait_until([&] { return state_of(t.ingress, "held-1") == "delivered"; }, 20s)) << t.parent->output();
  ASSERT_TRUE(t.parent->wait_for("in the outbox failed, they are offered again later", 30s)) << t.parent->output();
  EXPECT_EQ(t.receiver.count(), 0u);
  lock->release();
  ASSERT_TRUE(wait_until([&] { return t.receiver.count() >= 1; }, 30s)) << t.parent->output();
  ASSERT_TRUE(wait_until([&] { return metric(t.ingress, "notify_callbacks_pending") == "0"; }, 10s));
  const auto got = ids_received(t.receiver);
  EXPECT_EQ(got, (std::map<std::string, int>{{"held-1:delivered", 1}}));
  for (const auto& e : t.receiver.events()) EXPECT_TRUE(e.signature_ok) << e.id;
}

// The crash window: the parent dies after the queue stored the outcome and before the outbox has its event. The
// restarted parent finds the outcome still unannounced and sends its callback.
TEST(Callbacks, AnOutcomeStoredJustBeforeAParentKillIsCalledBackAfterTheRestart) {
  Topology t;
  t.receiver.up();
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  {
    OutboxWriteLock lock(t.dir.path() / "queue.db.callbacks");  // holds the parent between the two writes
    ASSERT_EQ(call(t.ingress, "POST", "/v1/notifications", one("window-1")).status, 202);
    ASSERT_TRUE(wait_until([&] { return state_of(t.ingress, "window-1") == "delivered"; }, 20s)) << t.parent->output();
    t.parent->signal(SIGKILL);
    t.parent->wait(10s);
  }
  EXPECT_EQ(t.receiver.count(), 0u);
  t.start_parent();  // the same queue and outbox files
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  ASSERT_TRUE(wait_until([&] { return t.receiver.count() >= 1; }, 30s)) << t.parent->output();
  ASSERT_TRUE(wait_until([&] { return metric(t.ingress, "notify_callbacks_pending") == "0"; }, 10s));
  EXPECT_EQ(ids_received(t.receiver), (std::map<std::string, int>{{"window-1:delivered", 1}}));
  EXPECT_NE(t.parent->output().find("offered 1 final outcome(s) stored but not yet announced"), std::string::npos)
      << t.parent->output();
}

TEST(Callbacks, AReceiverWithAnUntrustedOrWrongHostCertificateGetsNothing) {
  Topology t(", allow_per_notification_url: true");
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  Receiver rogue(t.pki.rogue_cert, t.pki.rogue_key);            // 127.0.0.1, but from a CA nobody trusts
  Receiver wrong(t.pki.wrong_host_cert, t.pki.wrong_host_key);  // the trusted CA, but for wrong.example
  rogue.up();
  wrong.up();
  ASSERT_EQ(call(t.ingress, "POST", "/v1/notifications",
                 R"({"notifications": [{"request_id": "tls-1", "external_user_id": "x", "message": "m", )"
                 R"("callback_url": ")" +
                     rogue.url() + R"("}, {"request_id": "tls-2", "external_user_id": "x", )" +
                     R"("message": "m", "callback_url": ")" + wrong.url() + R"("}]})")
                .status,
            202);
  // Both are attempted, refused in the TLS handshake, and retried: never acknowledged, never seen by a handler.
  ASSERT_TRUE(wait_until([&] { return std::stoi("0" + metric(t.ingress, "notify_callbacks_failed_total")) >= 4; }, 20s))
      << t.parent->output();
  EXPECT_EQ(metric(t.ingress, "notify_callbacks_pending"), "2");
  EXPECT_EQ(rogue.count() + wrong.count(), 0u);
  EXPECT_EQ(metric(t.ingress, "notify_callbacks_sent_total"), "0");
  const auto log = t.parent->output();
  // Refused for the right reasons: the chain (rogue CA), then the host name (a trusted certificate for another name).
  EXPECT_NE(log.find("tls-1:delivered not acknowledged (SSL Exception: error:0A000086:SSL routines::certificate verify "
                     "failed)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("tls-2:delivered not acknowledged (Certificate validation error: Unacceptable certificate from "
                     "127.0.0.1"),
            std::string::npos)
      << log;
}

TEST(Callbacks, ASlowReceiverDoesNotSlowDelivery) {
  Topology t(", concurrency: 1, timeout: 30s");
  t.receiver.set_delay(2s);
  t.receiver.up();
  ASSERT_FALSE(t.ingress.empty()) << t.parent->output();
  std::string batch;
  for (int i = 0; i < 5; ++i) batch += (batch.empty() ? "" : ",") + one("slow-" + std::to_string(i));
  ASSERT_EQ(call(t.ingress, "POST", "/v1/notifications", R"({"notifications": [)" + batch + "]}").status, 202);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(wait_until([&] { return state_of(t.ingress, "slow-" + std::to_string(i)) == "delivered"; }, 20s));
  }
  // Every notification is delivered while the receiver, one event at a time, has not yet taken all the callbacks.
  EXPECT_LT(t.receiver.count(), 5u);
  EXPECT_NE(metric(t.ingress, "notify_callbacks_pending"), "0");
  // And they all arrive in the end.
  ASSERT_TRUE(wait_until([&] { return t.receiver.count() >= 5; }, 60s)) << t.parent->output();
  EXPECT_EQ(ids_received(t.receiver).size(), 5u);
  for (const auto& e : t.receiver.events()) EXPECT_TRUE(e.signature_ok) << e.id;
}

TEST(Callbacks, BadConfigNamesTheKey) {
  TempDir dir;
  auto check = [&](const std::string& callbacks, std::map<std::string, std::string> env = {}) {
    const auto file = dir.write("parent.yaml",
                                "node: p\nforward: {transport: tcp, address: '127.0.0.1:1'}\n"
                                "queue: {path: '" +
                                    (dir.path() / "q.db").string() + "'}\ncallbacks: " + callbacks + "\n");
    return run_command({host_binary(), "--check-config", file.string()}, std::move(env));
  };
  auto plain = check("{url: 'http://hooks.example.com/cb', secret: '" + kSecret + "'}");
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_NE(plain.output.find("parent.yaml:4:"), std::string::npos) << plain.output;  // file:line of the key
  EXPECT_NE(plain.output.find("callbacks.url"), std::string::npos) << plain.output;
  EXPECT_NE(plain.output.find("loopback"), std::string::npos) << plain.output;
  auto bad_secret = check("{url: 'https://hooks.example.com/cb', secret: '${S}'}", {{"S", "not-a-whsec-secret"}});
  EXPECT_NE(bad_secret.exit_code, 0);
  EXPECT_NE(bad_secret.output.find("callbacks.secret"), std::string::npos) << bad_secret.output;
  EXPECT_EQ(bad_secret.output.find("not-a-whsec-secret"), std::string::npos) << bad_secret.output;
  auto ok = check("{url: 'https://hooks.example.com/cb', secret: '${S}'}", {{"S", kSecret}});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(ok.output.find(kKeyBase64), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("secret: <redacted>"), std::string::npos) << ok.output;
}
