#pragma once
// A real HTTP/2 server over TLS on 127.0.0.1 (ephemeral port) for tests of HTTP/2 clients: OpenSSL with ALPN "h2"
// and libnghttp2's server session, one thread per connection. It answers each request 200 after holding it for a
// while (so that concurrent requests are in flight at once, as streams of one connection), and on demand refuses
// streams with RST_STREAM(REFUSED_STREAM) or ends every connection with a GOAWAY after its first stream — the two ways
// a server says "I did not process this request".

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace notify::testing {

class H2TestServer {
 public:
  struct Request {
    std::string method, path;
    std::map<std::string, std::string> headers;  // regular headers (lower case, as HTTP/2 sends them)
    std::string body;
  };
  struct Reply {
    int status = 200;
    std::map<std::string, std::string> headers;
    std::string body;
  };
  /// Answers a request (on its connection's thread); without one, the server answers 200 with a body naming the
  /// stream, method, path and request body.
  using Handler = std::function<Reply(const Request&)>;

  struct Options {
    std::filesystem::path cert_file, key_file;
    std::chrono::milliseconds hold{100};     ///< answer each request after this long
    int refuse_first = 0;                    ///< RST_STREAM(REFUSED_STREAM) the first N requests (over all connections)
    bool goaway_after_first_stream = false;  ///< each connection: GOAWAY(last stream = its first), that one answered
    Handler handler;
  };

  explicit H2TestServer(Options options);
  H2TestServer(const H2TestServer&) = delete;
  H2TestServer& operator=(const H2TestServer&) = delete;
  ~H2TestServer();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url(const std::string& path = "/") const;
  [[nodiscard]] int connections() const noexcept { return connections_.load(); }
  /// Requests answered 200 (each is processed exactly once: the body names its stream and path).
  [[nodiscard]] int processed() const noexcept { return processed_.load(); }
  /// Requests refused (RST_STREAM REFUSED_STREAM) or left unprocessed above a GOAWAY's last stream id.
  [[nodiscard]] int refused() const noexcept { return refused_.load(); }
  /// The most requests held at the same moment on one connection.
  [[nodiscard]] int max_streams_in_flight() const noexcept { return max_in_flight_.load(); }

  struct Connection;  // per-connection state, for the nghttp2 callbacks

  // For the connection callbacks.
  bool take_refusal() noexcept {
    for (int left = refuse_left_.load(); left > 0;) {
      if (refuse_left_.compare_exchange_weak(left, left - 1)) return true;
    }
    return false;
  }
  void note_refused() noexcept { ++refused_; }
  void note_in_flight(int n) noexcept {
    for (int m = max_in_flight_.load(); n > m && !max_in_flight_.compare_exchange_weak(m, n);) {
    }
  }
  [[nodiscard]] bool goaway_after_first() const noexcept { return options_.goaway_after_first_stream; }
  [[nodiscard]] std::chrono::milliseconds hold() const noexcept { return options_.hold; }
  [[nodiscard]] const Handler& handler() const noexcept { return options_.handler; }

 private:
  void accept_loop();
  void serve(int fd);

  Options options_;
  void* ctx_ = nullptr;  // SSL_CTX*
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0}, processed_{0}, refused_{0}, max_in_flight_{0}, refuse_left_{0};
  std::mutex mu_;
  std::vector<std::thread> workers_;  // guarded by mu_
  std::thread acceptor_;
};

}  // namespace notify::testing
