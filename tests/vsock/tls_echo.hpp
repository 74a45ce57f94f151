#pragma once
// Test helpers for the relay: a TLS echo server and a plain echo server on any transport's Listener, and a TLS
// client over any Stream (OpenSSL on the stream's descriptor), so a test can prove the relay carries TLS untouched.

#include <notify/transport.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace notify::testing {

using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;

inline std::string ssl_error() {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  return buf;
}

// OpenSSL's blocking calls on `fd` give up after `limit` instead of waiting for ever (SO_RCVTIMEO/SO_SNDTIMEO, which
// TCP and AF_VSOCK both honour): a stalled relay makes the test fail with a message, not hang until CTest kills it.
inline void bound_blocking_calls(int fd, std::chrono::seconds limit) {
  const timeval tv{static_cast<time_t>(limit.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Echoes each connection back until EOF, on a thread per connection (fine for tests).
class EchoServer {
 public:
  EchoServer(std::unique_ptr<Listener> listener, SSL_CTX* tls) : listener_(std::move(listener)), tls_(tls) {
    accept_ = std::thread([this] { run(); });
  }
  ~EchoServer() {
    stop_ = true;
    listener_->close();
    accept_.join();
    std::lock_guard lock(mu_);
    for (auto& t : workers_) t.join();
  }
  [[nodiscard]] std::string address() const { return listener_->local_address(); }

 private:
  void run() {
    while (!stop_) {
      auto s = listener_->accept(std::chrono::milliseconds(100));
      if (!s) continue;
      std::lock_guard lock(mu_);
      workers_.emplace_back([this, stream = std::shared_ptr<Stream>(std::move(*s))] { serve(*stream); });
    }
  }
  void serve(Stream& s) {
    if (tls_ == nullptr) {
      std::byte buf[4096];
      for (;;) {
        auto n = s.read_some(buf, std::chrono::seconds(20));
        if (!n) return;
        if (!s.write_all(std::span(buf, *n), std::chrono::seconds(20))) return;
      }
    }
    SslPtr ssl(SSL_new(tls_), &SSL_free);
    bound_blocking_calls(s.native_handle(), std::chrono::seconds(60));
    SSL_set_fd(ssl.get(), s.native_handle());
    if (SSL_accept(ssl.get()) != 1) return;
    char buf[4096];
    for (;;) {
      const int n = SSL_read(ssl.get(), buf, sizeof buf);
      if (n <= 0) break;
      if (SSL_write(ssl.get(), buf, n) != n) break;
    }
    SSL_shutdown(ssl.get());
  }

  std::unique_ptr<Listener> listener_;
  SSL_CTX* tls_;
  std::atomic<bool> stop_{false};
  std::thread accept_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

inline SslCtxPtr server_tls(const std::filesystem::path& cert, const std::filesystem::path& key) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!ctx || SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("server TLS context: " + ssl_error());
  }
  return ctx;
}

// Does a verified TLS handshake (CA `ca`, host "localhost") over `s`, sends `msg`, reads the echo back.
inline std::string tls_round_trip(Stream& s, const std::filesystem::path& ca, const std::string& msg) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1) return "load CA: " + ssl_error();
  SslPtr ssl(SSL_new(ctx.get()), &SSL_free);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  SSL_set1_host(ssl.get(), "localhost");
  bound_blocking_calls(s.native_handle(), std::chrono::seconds(60));
  SSL_set_fd(ssl.get(), s.native_handle());
  if (SSL_connect(ssl.get()) != 1) return "handshake failed: " + ssl_error();
  // In 16 KiB pieces, each echo read back before the next is sent, so the echo never waits on a full socket buffer
  // whatever the transport's buffer sizes are (a 100 KB write before any read relies on ~200 KB of buffering).
  constexpr std::size_t kPiece = 16 * 1024;
  std::string got;
  char buf[4096];
  for (std::size_t sent = 0; sent < msg.size();) {
    const int len = static_cast<int>(std::min(kPiece, msg.size() - sent));
    if (SSL_write(ssl.get(), msg.data() + sent, len) != len)
      return "write failed after " + std::to_string(sent) + " bytes";
    sent += static_cast<std::size_t>(len);
    while (got.size() < sent) {
      const int n = SSL_read(ssl.get(), buf, sizeof buf);
      if (n <= 0) return "read failed after " + std::to_string(got.size()) + " bytes (stalled or closed)";
      got.append(buf, static_cast<std::size_t>(n));
    }
  }
  SSL_shutdown(ssl.get());
  return got;
}

}  // namespace notify::testing
