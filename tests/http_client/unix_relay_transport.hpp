#pragma once
// A transport for tests whose streams are not TCP sockets, as vsock streams in the enclave are not: connect() hands
// out one end of an AF_UNIX socket pair and relays the other end, byte for byte, to a TCP address on loopback (what
// the parent's relay does for vsock). It proves that a client driving the descriptor itself — libcurl, here — needs
// nothing IP-specific from it. The address given to connect() is ignored.

#include "socket_io.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <thread>
#include <vector>

namespace notify::testing {

class UnixRelayTransport final : public Transport {
 public:
  explicit UnixRelayTransport(std::uint16_t tcp_port) : port_(tcp_port) {}
  ~UnixRelayTransport() override {
    stop_ = true;
    std::lock_guard lock(mu_);
    for (auto& t : relays_) t.join();
  }

  Result<std::unique_ptr<Stream>> connect(std::string_view /*address*/,
                                          std::chrono::milliseconds /*timeout*/) noexcept override {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      return Error{Errc::io_error, "socketpair failed"};
    }
    const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    if (upstream < 0 || ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(pair[0]);
      ::close(pair[1]);
      if (upstream >= 0) ::close(upstream);
      return Error{Errc::refused, "relay upstream refused"};
    }
    ++connects;
    std::lock_guard lock(mu_);
    relays_.emplace_back([this, local = pair[1], upstream] { relay(local, upstream); });
    return std::unique_ptr<Stream>(std::make_unique<posix::FdStream>(posix::UniqueFd(pair[0]), "unix-relay"));
  }
  Result<std::unique_ptr<Listener>> listen(std::string_view /*address*/, int /*backlog*/) noexcept override {
    return Error{Errc::unsupported, "unix relay transport does not listen"};
  }

  std::atomic<int> connects{0};

 private:
  void relay(int a, int b) {
    char buf[16384];
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    while (!stop_) {
      if (::poll(fds, 2, 50) <= 0) continue;
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          done = true;
          break;
        }
        for (ssize_t off = 0; off < n;) {
          const ssize_t w = ::write(fds[1 - i].fd, buf + off, static_cast<std::size_t>(n - off));
          if (w <= 0) {
            done = true;
            break;
          }
          off += w;
        }
      }
      if (done) break;
    }
    ::close(a);
    ::close(b);
  }

  std::uint16_t port_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::thread> relays_;
};

class UnixRelayRegistry final : public TransportRegistry {
 public:
  explicit UnixRelayRegistry(std::uint16_t port) : t_(std::make_shared<UnixRelayTransport>(port)) {}
  Result<std::shared_ptr<Transport>> transport(std::string_view name) noexcept override {
    if (name != "unix-relay") return Error{Errc::not_found, "no transport plugin named '" + std::string(name) + "'"};
    return std::static_pointer_cast<Transport>(t_);
  }
  std::shared_ptr<UnixRelayTransport> t_;
};

}  // namespace notify::testing
