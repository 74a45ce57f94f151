#pragma once
// A Standard Webhooks receiver for tests: a real HTTPS server on loopback that checks every delivery the way a
// receiver following the spec would — webhook-id, webhook-timestamp within tolerance, and webhook-signature
// recomputed here with OpenSSL's HMAC and base64 (independently of the plugin's code) — records it, answers 401 to
// a bad signature and 204 to a good one, and can answer the next requests with injected statuses instead.

#include "https_test_server.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace notify::testing {

class FakeWebhookReceiver {
 public:
  struct Delivery {
    std::string id, timestamp, signature, body, content_type, path;
    bool verified = false;
    int status = 0;  // what the receiver answered
  };

  /// `secret` is "whsec_<base64>", as the sender is configured with.
  FakeWebhookReceiver(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                      std::string secret);

  [[nodiscard]] std::string url(const std::string& path = "/hooks/notify") const { return server_->url() + path; }
  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  /// The next `times` requests get this reply (after being recorded), whatever their signature.
  void inject(HttpsTestServer::Reply reply, int times = 1);
  [[nodiscard]] std::vector<Delivery> deliveries() const;
  /// webhook-id → how many verified deliveries of it were accepted with a 2xx.
  [[nodiscard]] std::map<std::string, int> accepted() const;
  [[nodiscard]] std::size_t max_concurrent() const { return server_->max_concurrent(); }

 private:
  HttpsTestServer::Reply handle(const HttpsTestServer::Request& request);

  std::vector<unsigned char> key_;
  mutable std::mutex mu_;
  std::deque<HttpsTestServer::Reply> injected_;
  std::vector<Delivery> deliveries_;
  std::unique_ptr<HttpsTestServer> server_;  // last: its handler uses the members above
};

}  // namespace notify::testing
