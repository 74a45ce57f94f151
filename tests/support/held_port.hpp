#pragma once
// A loopback TCP port that a test holds without listening on it. Connecting to it is refused, as to a server that is
// not up (yet); and because the socket stays bound, no other test running in parallel can take the port meanwhile —
// unlike binding port 0, reading the number, closing and handing the number on. listen() turns the very same socket
// into a server's listener, so "the server comes up late on the address the client already has" reuses nothing.
// Header-only; link notify::socket_common (the fd-level Stream/Listener the socket transports share).

#include "socket_io.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

namespace notify::testing {

class HeldPort {
 public:
  HeldPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (!fd_.valid()) throw std::runtime_error(std::string("HeldPort: socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error(std::string("HeldPort: bind 127.0.0.1:0: ") + std::strerror(errno));
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    address_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }

  /// "127.0.0.1:PORT": refused until listen() is called, and held by this object until it is destroyed.
  [[nodiscard]] const std::string& address() const noexcept { return address_; }

  /// Starts listening on the held socket and hands it over as a transport Listener (this object holds nothing more).
  Result<std::unique_ptr<Listener>> listen(int backlog) {
    if (!fd_.valid()) return Error{Errc::invalid_argument, "HeldPort " + address_ + ": already listening"};
    if (::listen(fd_.get(), backlog) != 0) return posix::socket_error("listen on", address_, errno);
    return std::unique_ptr<Listener>(
        std::make_unique<posix::FdListener>(std::move(fd_), address_, &format_peer, [](int fd) {
          int one = 1;
          ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }));
  }

 private:
  static std::string format_peer(const sockaddr_storage& ss, socklen_t) {
    if (ss.ss_family != AF_INET) return "unknown";
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    char host[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in.sin_port));
  }

  posix::UniqueFd fd_;
  std::string address_;
};

}  // namespace notify::testing
