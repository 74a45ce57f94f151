#pragma once
// The HTTP client every provider plugin can share: libcurl's multi interface over the plugin's egress transport (tcp
// in dev, vsock to the parent's relay in production). TLS runs end to end from here: curl gets a socket the
// transport already connected, and verifies the certificate chain and host name against the URL's host, which is
// also the SNI name, so the egress hop never sees plaintext and never needs DNS. HTTP/2 is negotiated with ALPN and
// concurrent requests to one host share a connection as streams; a bounded pool caps connections.
//
// One thread drives all transfers of a client; perform() and perform_all() may be called from any number of threads
// at once and block until their requests finish. A new connection is made on that thread (curl asks for its socket
// there), so a slow egress connect, bounded by connect_timeout, holds the other transfers meanwhile: in the enclave
// the egress peer is the parent's relay, one vsock hop away.
//
// Debian 12's libcurl (7.88) ignores CURL_SOCKOPT_ALREADY_CONNECTED and connect()s the handed socket again: a TCP
// socket from a non-blocking connect accepts that, an AF_VSOCK one does not, so a non-TCP egress socket reaches curl
// through a loopback TCP bridge inside this process (src/socket_bridge.hpp; ciphertext only).
//
// Failure classification rests on what curl 7.88 reports with CURLOPT_VERBOSE (request headers out; "REFUSED_STREAM"
// retries), read by a debug callback that prints nothing. curl itself retries, on a fresh connection, a request whose
// HTTP/2 stream was refused or fell above a GOAWAY's last stream id (never processed, RFC 9113 §8.7), and one whose
// reused connection died before any response byte; the latter is why receivers should deduplicate (webhook-id).

#include <notify/http/http_types.hpp>
#include <notify/log.hpp>
#include <notify/metrics.hpp>
#include <notify/transport.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace notify::http {

struct HttpClientOptions {
  std::string egress_transport = "tcp";
  /// Where the transport connects, e.g. "3:8080" (the relay over vsock). Empty: each URL's own host:port.
  std::string egress_address;
  /// Per-host egress addresses, overriding `egress_address` for requests to that host. Keys are a URL's "host:port"
  /// or "host" (case-insensitive; "host:port" wins), values addresses of the egress transport, e.g.
  /// {"oauth2.googleapis.com", "3:8082"}: a provider that calls two hosts reaches each through the relay route that
  /// leads to it (the relay forwards a listen port to one fixed upstream). The TLS name stays the URL's host.
  std::map<std::string, std::string> egress_by_host;
  /// CA bundle (PEM) the server's chain must lead to. Empty: libcurl's default bundle (an enclave image has none).
  std::string ca_file;
  /// Connections open at once (per host and in all); further requests wait for a stream or a connection.
  std::size_t max_connections = 4;
  std::chrono::milliseconds connect_timeout{5000};   ///< transport connect plus TLS handshake
  std::chrono::milliseconds request_timeout{30000};  ///< one request, queueing included; the deadline may cut it
  std::size_t max_response_bytes = 1 << 20;          ///< a larger body fails the request (Sent::maybe)
  bool http2 = true;                                 ///< offer h2 in ALPN (HTTP/1.1 otherwise)
  /// Where each request's HTTP status (0: none came back) and duration are reported: the plugin's ctx.metrics, which
  /// outlives the client. nullptr: not reported.
  ProviderMetrics* metrics = nullptr;
};

/// Where a request to `host`:`port` (as a URL writes them; an IPv6 literal keeps its brackets) connects: its entry in
/// egress_by_host ("host:port", then "host"), else egress_address, else "host:port" itself.
std::string egress_address_for(const HttpClientOptions& options, std::string_view host, std::string_view port);

class HttpClient {
 public:
  /// Throws std::runtime_error when libcurl cannot be set up (out of memory, or a build without TLS or HTTP/2).
  HttpClient(TransportRegistry& transports, HttpClientOptions options, Log& log);
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  /// Requests still running fail (Sent::maybe if they had left); must not race a perform() call.
  ~HttpClient();

  /// One request, finished by `deadline` at the latest (and by request_timeout). A deadline already past sends
  /// nothing and fails with Sent::no.
  HttpResult perform(const HttpRequest& request, std::chrono::steady_clock::time_point deadline);

  /// Runs all `requests` concurrently (as HTTP/2 streams or over pooled connections) and returns one result each,
  /// in order.
  std::vector<HttpResult> perform_all(std::span<const HttpRequest> requests,
                                      std::chrono::steady_clock::time_point deadline);

  [[nodiscard]] const HttpClientOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace notify::http
