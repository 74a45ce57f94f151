#pragma once
// HTTPS to Braze over a connection the host's transport makes (tcp directly, or vsock to the parent's relay), so TLS
// runs end to end from inside the enclave and the parent only ever carries ciphertext. Keep-alive connections are
// pooled; every request has connect, TLS-handshake and whole-request deadlines.

#include "braze_response.hpp"

#include <notify/log.hpp>
#include <notify/result.hpp>
#include <notify/toolkit/url.hpp>
#include <notify/transport.hpp>

#include <Poco/Net/Context.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

namespace notify::braze {

/// Braze's REST endpoint: scheme "https" (or "http", which the plugin allows only with allow_insecure_http), host
/// (IPv6 unbracketed), port.
using Endpoint = toolkit::UrlEndpoint;

/// "https://rest.iad-01.braze.com", "https://[::1]:8443" (an optional trailing "/"; a path, query or user info is
/// not allowed).
Result<Endpoint> parse_endpoint(std::string_view url);

struct HttpOptions {
  Endpoint endpoint;
  std::string egress_transport = "tcp";
  std::string egress_address;  // default: endpoint host:port
  std::string ca_file;         // empty: the system store
  std::size_t pool_size = 8;   // connections to Braze at most, in use or idle (1..1024)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds tls_timeout{10000};
  std::chrono::milliseconds request_timeout{30000};
};

class BrazeHttpClient {
 public:
  BrazeHttpClient(TransportRegistry& transports, HttpOptions options, Log& log);
  ~BrazeHttpClient();

  /// POSTs a JSON body. On failure, `maybe_delivered` says whether the request may have reached Braze (its bytes
  /// were written), because a retry then risks a duplicate push: Braze has no idempotency key on these endpoints.
  Result<HttpResponse> post(const std::string& path, const std::string& body, std::string_view api_key,
                            bool& maybe_delivered);

 private:
  struct Connection;
  Result<std::unique_ptr<Connection>> open();
  std::unique_ptr<Connection> take_idle();
  void give_back(std::unique_ptr<Connection> c);

  TransportRegistry& transports_;
  HttpOptions options_;
  Log& log_;
  Poco::Net::Context::Ptr tls_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
  // pool_size caps connections in use at once (idle ones are kept for reuse up to the same number).
  std::counting_semaphore<1024> slots_;
};

}  // namespace notify::braze
