// The shared HTTP client against a real HTTPS server on loopback, over the real TCP egress transport: requests and
// responses, the TLS name being the URL's host whatever the egress address, certificate failures, and which failures
// are "not sent" (safe to retry) and which "may have been delivered".
#include "capturing_log.hpp"
#include "counting_transports.hpp"
#include "h2_test_server.hpp"
#include "held_port.hpp"
#include "host_process.hpp"
#include "https_test_server.hpp"
#include "test_pki.hpp"
#include "unix_relay_transport.hpp"

#include <notify/http/http_client.hpp>

#include <gtest/gtest.h>

using namespace notify;
using namespace notify::http;
using namespace std::chrono_literals;
using notify::testing::HttpsTestServer;

namespace {

using Clock = std::chrono::steady_clock;
using Reply = HttpsTestServer::Reply;

struct Fixture {
  notify::testing::TempDir dir;
  notify::testing::TestPki pki = notify::testing::make_test_pki(dir.path());
  notify::testing::CountingRegistry transports;
  notify::testing::CapturingLog log{LogLevel::trace};

  HttpClientOptions options() const {
    HttpClientOptions o;
    o.ca_file = pki.ca_cert.string();
    o.request_timeout = 10s;
    return o;
  }
  std::unique_ptr<HttpClient> client(HttpClientOptions o) { return std::make_unique<HttpClient>(transports, o, log); }
  std::unique_ptr<HttpClient> client() { return client(options()); }
};

HttpRequest post(const std::string& url, std::string body = R"({"a":1})") {
  HttpRequest r;
  r.url = url;
  r.headers = {{"Content-Type", "application/json"}, {"X-Test", "yes"}};
  r.body = std::move(body);
  return r;
}

Clock::time_point in(std::chrono::milliseconds d) { return Clock::now() + d; }

}  // namespace

TEST(HttpClient, PostsOverTlsAndReturnsStatusHeadersAndBody) {
  Fixture f;
  HttpsTestServer server(f.pki.server_cert, f.pki.server_key, [](const HttpsTestServer::Request&) {
    return Reply{201, {{"X-Id", "abc-1"}}, "created", {}, false};
  });
  auto c = f.client();
  auto r = c->perform(post(server.url() + "/hooks/a?x=1"), in(10s));
  ASSERT_TRUE(r.ok()) << r.failure.message;
  EXPECT_EQ(r.response->status, 201);
  EXPECT_EQ(r.response->header("x-id").value_or(""), "abc-1");
  EXPECT_EQ(r.response->body, "created");
  EXPECT_EQ(r.response->http_version, 1);  // the server offers no h2 in ALPN
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/hooks/a?x=1");
  EXPECT_EQ(seen[0].body, R"({"a":1})");
  EXPECT_EQ(seen[0].headers["x-test"], "yes");
  EXPECT_EQ(seen[0].headers["content-type"], "application/json");
  EXPECT_EQ(seen[0].headers.count("expect"), 0u);
  EXPECT_EQ(f.transports.tcp->connects.load(), 1);
}

TEST(HttpClient, TheTlsNameIsTheUrlsHostNotTheEgressAddressAndNeedsNoDns) {
  Fixture f;
  // The certificate is for wrong.example only, a name no resolver knows: the request verifies because the client
  // checks the URL's host, and arrives because the egress transport connects to 127.0.0.1 instead of resolving it.
  HttpsTestServer server(f.pki.wrong_host_cert, f.pki.wrong_host_key,
                         [](const HttpsTestServer::Request&) { return Reply{}; });
  auto o = f.options();
  o.egress_address = "127.0.0.1:" + std::to_string(server.port());
  auto c = f.client(o);
  auto r = c->perform(post(server.url("wrong.example") + "/x"), in(10s));
  ASSERT_TRUE(r.ok()) << r.failure.message;
  EXPECT_EQ(r.response->status, 200);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].host, "wrong.example:" + std::to_string(server.port()));

  // The same server under the name it has no certificate for: refused before anything is sent.
  auto bad = c->perform(post(server.url("127.0.0.1") + "/x"), in(10s));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.failure.sent, Sent::no) << bad.failure.message;
  EXPECT_EQ(bad.failure.code, Errc::refused) << bad.failure.message;
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpClient, EgressByHostPicksHostPortThenHostThenTheSharedAddressThenTheUrlsOwn) {
  HttpClientOptions o;
  EXPECT_EQ(egress_address_for(o, "fcm.googleapis.com", "443"), "fcm.googleapis.com:443");
  o.egress_address = "3:8081";
  EXPECT_EQ(egress_address_for(o, "fcm.googleapis.com", "443"), "3:8081");
  o.egress_by_host = {{"OAuth2.GoogleAPIs.com", "3:8082"}, {"example.test:8443", "3:8090"}, {"example.test", "3:8091"}};
  EXPECT_EQ(egress_address_for(o, "oauth2.googleapis.com", "443"), "3:8082");   // keys compare case-insensitively
  EXPECT_EQ(egress_address_for(o, "oauth2.googleapis.com", "8443"), "3:8082");  // a bare host: any port
  EXPECT_EQ(egress_address_for(o, "example.test", "8443"), "3:8090");           // host:port wins over host
  EXPECT_EQ(egress_address_for(o, "example.test", "443"), "3:8091");
  EXPECT_EQ(egress_address_for(o, "fcm.googleapis.com", "443"), "3:8081");  // not listed: the shared address
  o.egress_address.clear();
  EXPECT_EQ(egress_address_for(o, "[::1]", "443"), "[::1]:443");
}

TEST(HttpClient, EachHostGoesThroughItsOwnEgressAddressAndKeepsItsTlsName) {
  Fixture f;
  // Two upstreams, as behind two relay routes: the shared egress address leads to `primary` (certificate for
  // 127.0.0.1/localhost), the per-host entry for wrong.example to `other` (certificate for wrong.example only).
  HttpsTestServer primary(f.pki.server_cert, f.pki.server_key, [](const HttpsTestServer::Request&) {
    return Reply{200, {}, "primary", {}, false};
  });
  HttpsTestServer other(f.pki.wrong_host_cert, f.pki.wrong_host_key, [](const HttpsTestServer::Request&) {
    return Reply{200, {}, "other", {}, false};
  });
  auto o = f.options();
  o.egress_address = "127.0.0.1:" + std::to_string(primary.port());
  o.egress_by_host = {{"wrong.example", "127.0.0.1:" + std::to_string(other.port())}};
  auto c = f.client(o);
  std::vector<HttpRequest> calls = {post(primary.url("localhost") + "/a"), post(other.url("wrong.example") + "/token"),
                                    post(primary.url("localhost") + "/b")};
  auto results = c->perform_all(calls, in(10s));
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) ASSERT_TRUE(r.ok()) << r.failure.message;
  EXPECT_EQ(results[0].response->body, "primary");
  EXPECT_EQ(results[1].response->body, "other");
  EXPECT_EQ(results[2].response->body, "primary");
  EXPECT_EQ(primary.requests().size(), 2u);
  ASSERT_EQ(other.requests().size(), 1u);
  EXPECT_EQ(other.requests()[0].path, "/token");

  // Without the entry, wrong.example's request reaches `primary`, whose certificate does not name it: refused in the
  // handshake, nothing sent.
  o.egress_by_host.clear();
  auto shared = f.client(o)->perform(post(other.url("wrong.example") + "/token"), in(10s));
  ASSERT_FALSE(shared.ok());
  EXPECT_EQ(shared.failure.sent, Sent::no) << shared.failure.message;
  EXPECT_EQ(other.requests().size(), 1u);
}

TEST(HttpClient, AnUntrustedCertificateFailsAsNotSent) {
  Fixture f;
  HttpsTestServer server(f.pki.rogue_cert, f.pki.rogue_key, [](const HttpsTestServer::Request&) { return Reply{}; });
  auto c = f.client();
  auto r = c->perform(post(server.url() + "/x"), in(10s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure.sent, Sent::no) << r.failure.message;
  EXPECT_EQ(r.failure.code, Errc::refused);
  EXPECT_NE(r.failure.message.find("POST https://127.0.0.1:" + std::to_string(server.port())), std::string::npos)
      << r.failure.message;
  EXPECT_TRUE(server.requests().empty());
}

TEST(HttpClient, ARefusedConnectionIsNotSentAndNamesTheAddress) {
  Fixture f;
  notify::testing::HeldPort port;
  auto c = f.client();
  auto r = c->perform(post("https://" + port.address() + "/x"), in(10s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure.sent, Sent::no);
  EXPECT_EQ(r.failure.code, Errc::refused) << r.failure.message;
  EXPECT_NE(r.failure.message.find(port.address()), std::string::npos) << r.failure.message;
}

TEST(HttpClient, AnUnknownEgressTransportIsNotSent) {
  Fixture f;
  auto o = f.options();
  o.egress_transport = "carrier-pigeon";
  auto c = f.client(o);
  auto r = c->perform(post("https://127.0.0.1:9/x"), in(10s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure.sent, Sent::no);
  EXPECT_EQ(r.failure.code, Errc::not_found);
  EXPECT_NE(r.failure.message.find("carrier-pigeon"), std::string::npos) << r.failure.message;
}

TEST(HttpClient, AConnectionDroppedAfterTheRequestMayHaveBeenDelivered) {
  Fixture f;
  HttpsTestServer server(f.pki.server_cert, f.pki.server_key, [](const HttpsTestServer::Request&) {
    return Reply{200, {}, {}, {}, true};
  });
  auto c = f.client();
  auto r = c->perform(post(server.url() + "/x"), in(10s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure.sent, Sent::maybe) << r.failure.message;
  EXPECT_GE(server.requests().size(), 1u);  // the server did read it
}

TEST(HttpClient, AStalledResponseTimesOutAsMaybeDelivered) {
  Fixture f;
  HttpsTestServer server(f.pki.server_cert, f.pki.server_key, [](const HttpsTestServer::Request&) {
    return Reply{200, {}, {}, 20s, false};
  });
  auto o = f.options();
  o.request_timeout = 300ms;
  auto c = f.client(o);
  auto r = c->perform(post(server.url() + "/x"), in(10s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure.code, Errc::timed_out) << r.failure.message;
  EXPECT_EQ(r.failure.sent, Sent::maybe);
}

TEST(HttpClient, APassedDeadlineSendsNothing) {
  Fixture f;
  HttpsTestServer server(f.pki.server_cert, f.pki.server_key, [](const HttpsTestServer::Request&) { return Reply{}; });
  auto c = f.client();
  auto r = c->perform(post(server.url() + "/x"), Clock::now() - 1ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure.sent, Sent::no);
  EXPECT_EQ(r.failure.code, Errc::timed_out);
  EXPECT_EQ(f.transports.tcp->connects.load(), 0);
  EXPECT_TRUE(server.requests().empty());
}

TEST(HttpClient, ABatchRunsConcurrentlyWithinTheConnectionPoolAndReusesIt) {
  Fixture f;
  HttpsTestServer server(f.pki.server_cert, f.pki.server_key, [](const HttpsTestServer::Request& q) {
    return Reply{200, {}, "echo:" + q.body, 50ms, false};
  });
  auto o = f.options();
  o.max_connections = 3;
  auto c = f.client(o);
  std::vector<HttpRequest> batch;
  for (int i = 0; i < 12; ++i) batch.push_back(post(server.url() + "/n" + std::to_string(i), std::to_string(i)));
  auto results = c->perform_all(batch, in(20s));
  ASSERT_EQ(results.size(), batch.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].failure.message;
    EXPECT_EQ(results[i].response->body, "echo:" + std::to_string(i));  // each result in its request's place
  }
  EXPECT_LE(server.distinct_connections(), 3u);
  EXPECT_GE(server.max_concurrent(), 2u);  // they did overlap
  const int opened = f.transports.tcp->connects.load();
  EXPECT_LE(opened, 3);
  // A second batch goes over the pooled connections.
  auto again = c->perform_all(std::span(batch).first(3), in(20s));
  for (const auto& r : again) EXPECT_TRUE(r.ok()) << r.failure.message;
  EXPECT_EQ(f.transports.tcp->connects.load(), opened);
}

TEST(HttpClient, ConcurrentCallersShareTheClient) {
  Fixture f;
  HttpsTestServer server(f.pki.server_cert, f.pki.server_key, [](const HttpsTestServer::Request& q) {
    return Reply{200, {}, q.body, 20ms, false};
  });
  auto c = f.client();
  std::vector<std::thread> callers;
  std::atomic<int> good{0};
  for (int i = 0; i < 6; ++i) {
    callers.emplace_back([&, i] {
      auto r = c->perform(post(server.url() + "/t", std::to_string(i)), in(20s));
      if (r.ok() && r.response->body == std::to_string(i)) ++good;
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(good.load(), 6);
}

TEST(HttpClient, AResponseOverTheLimitFails) {
  Fixture f;
  HttpsTestServer server(f.pki.server_cert, f.pki.server_key, [](const HttpsTestServer::Request&) {
    return Reply{200, {}, std::string(5000, 'x'), {}, false};
  });
  auto o = f.options();
  o.max_response_bytes = 1000;
  auto c = f.client(o);
  auto r = c->perform(post(server.url() + "/x"), in(10s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure.code, Errc::resource_exhausted) << r.failure.message;
  EXPECT_EQ(r.failure.sent, Sent::maybe);
}

TEST(HttpClient, BadRequestsAreRefusedBeforeConnecting) {
  Fixture f;
  auto c = f.client();
  auto plain = c->perform(post("http://127.0.0.1:9/x"), in(10s));
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.failure.code, Errc::invalid_argument);
  EXPECT_EQ(plain.failure.sent, Sent::no);
  EXPECT_NE(plain.failure.message.find("must be https, not 'http'"), std::string::npos) << plain.failure.message;
  auto junk = c->perform(post("not a url/?token=secret-in-query"), in(10s));
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.failure.code, Errc::invalid_argument);
  EXPECT_EQ(junk.failure.message.find("secret-in-query"), std::string::npos) << junk.failure.message;
  auto injected = post("https://127.0.0.1:9/x");
  injected.headers.push_back({"X-Evil", "a\r\nHost: other"});
  auto inj = c->perform(injected, in(10s));
  ASSERT_FALSE(inj.ok());
  EXPECT_EQ(inj.failure.code, Errc::invalid_argument);
  EXPECT_NE(inj.failure.message.find("X-Evil"), std::string::npos) << inj.failure.message;
  EXPECT_EQ(f.transports.tcp->connects.load(), 0);
}

// ---- HTTP/2 against a real nghttp2 server ----

TEST(HttpClientH2, ConcurrentRequestsAreStreamsOfOneConnection) {
  Fixture f;
  notify::testing::H2TestServer server({f.pki.server_cert, f.pki.server_key, 200ms, 0, false, {}});
  auto o = f.options();
  o.max_connections = 4;
  auto c = f.client(o);
  std::vector<HttpRequest> batch;
  for (int i = 0; i < 8; ++i) {
    batch.push_back(post(server.url("/s" + std::to_string(i)), "b" + std::to_string(i)));
    batch.back().headers.push_back({"Authorization", "Bearer sekrit-token-42"});
  }
  auto results = c->perform_all(batch, in(20s));
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].failure.message;
    EXPECT_EQ(results[i].response->http_version, 2);
    EXPECT_EQ(results[i].response->status, 200);
    EXPECT_NE(results[i].response->body.find("POST /s" + std::to_string(i) + " body=b" + std::to_string(i)),
              std::string::npos)
        << results[i].response->body;
  }
  EXPECT_EQ(server.connections(), 1);            // one connection carried them all...
  EXPECT_GE(server.max_streams_in_flight(), 2);  // ...as concurrent streams
  EXPECT_EQ(server.processed(), 8);
  EXPECT_FALSE(f.log.contains("sekrit-token-42")) << f.log.all();  // curl's HTTP/2 trace lists headers: never logged
}

TEST(HttpClientH2, ARefusedStreamIsRetriedOnANewConnectionBecauseItWasNotProcessed) {
  Fixture f;
  notify::testing::H2TestServer server({f.pki.server_cert, f.pki.server_key, 0ms, 1, false, {}});
  auto c = f.client();
  auto r = c->perform(post(server.url("/once")), in(20s));
  ASSERT_TRUE(r.ok()) << r.failure.message;
  EXPECT_EQ(r.response->status, 200);
  EXPECT_EQ(server.refused(), 1);
  EXPECT_EQ(server.processed(), 1);  // processed once, although sent twice
}

TEST(HttpClientH2, StreamsRefusedEveryTimeFailAsNotSent) {
  Fixture f;
  notify::testing::H2TestServer server({f.pki.server_cert, f.pki.server_key, 0ms, 1000, false, {}});
  auto c = f.client();
  auto r = c->perform(post(server.url("/never")), in(20s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure.sent, Sent::no) << r.failure.message;
  EXPECT_EQ(server.processed(), 0);
  EXPECT_GE(server.refused(), 1);
}

TEST(HttpClientH2, StreamsAboveAGoawaysLastStreamIdAreResentAndProcessedOnce) {
  Fixture f;
  // Every connection processes its first stream only, and tells the client so with GOAWAY.
  notify::testing::H2TestServer server({f.pki.server_cert, f.pki.server_key, 100ms, 0, true, {}});
  auto o = f.options();
  o.max_connections = 1;
  auto c = f.client(o);
  std::vector<HttpRequest> batch;
  for (int i = 0; i < 3; ++i) batch.push_back(post(server.url("/g" + std::to_string(i)), std::to_string(i)));
  auto results = c->perform_all(batch, in(20s));
  for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.failure.message;
  EXPECT_EQ(server.processed(), 3);  // each exactly once
  EXPECT_GE(server.connections(), 2);
}

// ---- egress over a socket that is not TCP (as vsock is not) ----

TEST(HttpClientEgress, ANonTcpEgressSocketCarriesTlsAndHttp2) {
  Fixture f;
  notify::testing::H2TestServer server({f.pki.server_cert, f.pki.server_key, 50ms, 0, false, {}});
  notify::testing::UnixRelayRegistry transports(server.port());
  HttpClientOptions o = f.options();
  o.egress_transport = "unix-relay";
  o.egress_address = "relay";
  HttpClient c(transports, o, f.log);
  std::vector<HttpRequest> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(post(server.url("/u" + std::to_string(i)), std::to_string(i)));
  auto results = c.perform_all(batch, in(20s));
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.failure.message;
    EXPECT_EQ(r.response->http_version, 2);
  }
  EXPECT_EQ(transports.t_->connects.load(), 1);
  EXPECT_EQ(server.processed(), 4);
}
