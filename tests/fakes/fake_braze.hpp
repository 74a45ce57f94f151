#pragma once
// A fake Braze REST API for tests: real HTTP or HTTPS on 127.0.0.1 (Poco HTTPServer + NetSSL) that enforces the
// documented contract of /messages/send, /campaigns/trigger/send and /canvas/trigger/send — bearer key, JSON body,
// required fields, at most 50 recipients, no recipients/trigger properties on /messages/send, push size limits,
// reserved extra keys — records every request, and injects failures on demand (429 with X-RateLimit-* headers,
// 5xx with non-JSON bodies, latency, stalls, 2XX with minor errors).

#include "test_pki.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace Poco::Net {
class HTTPServer;
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Poco::Net

namespace notify::testing {

class FakeBraze {
 public:
  struct Options {
    std::string api_key = "test-braze-key";
    bool tls = true;
    std::uint16_t port = 0;                     // 0 = ephemeral (tests); fixed only for the CLI demo
    std::filesystem::path cert_file, key_file;  // required when tls
    int threads = 16;

    /// HTTPS with the test PKI's server certificate (valid for 127.0.0.1 and localhost), checking `api_key`.
    static Options over_tls(const TestPki& pki, std::string api_key) {
      Options o;
      o.api_key = std::move(api_key);
      o.cert_file = pki.server_cert;
      o.key_file = pki.server_key;
      return o;
    }
  };
  struct Recorded {
    std::string method, path, content_type, host;
    bool authorized = false;  // the bearer key matched (the key itself is never recorded)
    std::string body;
    int status = 0;
    std::vector<std::string> recipients;  // external_user_ids accepted by this request
  };
  /// What the next requests get instead of normal processing, in order.
  struct Injection {
    int status = 0;  // 0 = process normally (after delay)
    std::map<std::string, std::string> headers;
    std::string body;
    std::chrono::milliseconds delay{0};
    bool stall = false;                     // hold the request until the server stops (or 60 s)
    std::vector<std::string> minor_errors;  // on a normal 201, add these as "errors"
  };

  explicit FakeBraze(Options options);
  FakeBraze(const FakeBraze&) = delete;
  FakeBraze& operator=(const FakeBraze&) = delete;
  ~FakeBraze();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url() const;

  void inject(Injection injection, int times = 1);
  void set_latency(std::chrono::milliseconds latency);
  [[nodiscard]] std::vector<Recorded> requests() const;
  /// Recipient → number of times a push to them was accepted (for exactly-once checks).
  [[nodiscard]] std::map<std::string, int> accepted_recipients() const;
  /// The most requests the fake was handling at the same moment.
  [[nodiscard]] std::size_t max_concurrent_requests() const;

  // Called by the request handler.
  void handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

 private:
  Options options_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable stall_cv_;
  bool stopping_ = false;
  std::deque<Injection> injections_;
  std::chrono::milliseconds latency_{0};
  std::vector<Recorded> requests_;
  std::map<std::string, int> accepted_;
  std::uint64_t next_dispatch_ = 1;
  std::size_t active_handlers_ = 0;
  std::size_t max_active_handlers_ = 0;  // the destructor waits for these, so no handler outlives the fake
  std::condition_variable idle_cv_;
};

}  // namespace notify::testing
