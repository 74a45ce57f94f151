#pragma once
// A small real HTTPS (or HTTP/1.1) server on 127.0.0.1 with an ephemeral port, for tests of HTTP clients and the
// providers built on them: Poco's HTTPServer over TLS with a certificate of the test PKI. Every request is recorded
// and answered by a handler the test chooses; the handler can also hold a request or drop the connection unanswered.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace Poco::Net {
class HTTPServer;
}  // namespace Poco::Net

namespace notify::testing {

class HttpsTestServer {
 public:
  struct Request {
    std::string method, path, host;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::uint16_t client_port = 0;  // tells connections apart
  };
  struct Reply {
    int status = 200;
    std::map<std::string, std::string> headers;
    std::string body;
    std::chrono::milliseconds delay{0};  // answer after this long (cut short when the server stops)
    bool drop = false;                   // close the connection without answering
  };
  using Handler = std::function<Reply(const Request&)>;

  /// HTTPS with `cert_file`/`key_file`, or plain HTTP when both are empty.
  HttpsTestServer(const std::filesystem::path& cert_file, const std::filesystem::path& key_file, Handler handler);
  HttpsTestServer(const HttpsTestServer&) = delete;
  HttpsTestServer& operator=(const HttpsTestServer&) = delete;
  ~HttpsTestServer();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// "https://127.0.0.1:PORT", or with another host name (the certificate decides whether it verifies).
  [[nodiscard]] std::string url(const std::string& host = "127.0.0.1") const;
  [[nodiscard]] std::vector<Request> requests() const;
  [[nodiscard]] std::size_t max_concurrent() const;
  [[nodiscard]] std::size_t distinct_connections() const;

  // For the request handler.
  struct Access;

 private:
  Handler handler_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::uint16_t port_ = 0;
  bool tls_ = true;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<Request> requests_;
  std::set<std::uint16_t> client_ports_;
  std::size_t active_ = 0;
  std::size_t max_active_ = 0;
};

}  // namespace notify::testing
