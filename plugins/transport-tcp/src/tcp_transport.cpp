#include "tcp_transport.hpp"

#include "socket_io.hpp"
#include "tcp_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace notify::tcp {
namespace {

using posix::UniqueFd;

struct AddrInfoDeleter {
  void operator()(addrinfo* p) const noexcept { ::freeaddrinfo(p); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoDeleter>;

Result<AddrInfoPtr> resolve(const HostPort& hp, bool passive, std::string_view address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* out = nullptr;
  const std::string port = std::to_string(hp.port);
  int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &out);
  if (rc != 0) {
    Errc code = (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_FAIL) ? Errc::not_found : Errc::unreachable;
    return Error{code, "resolve " + std::string(address) + ": " + ::gai_strerror(rc)};
  }
  return AddrInfoPtr(out);
}

std::string format_sockaddr(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  std::uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
    port = ntohs(in.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
    port = ntohs(in6.sin6_port);
  } else {
    return "unknown";
  }
  return format_host_port(host, port);
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

Result<std::unique_ptr<Stream>> TcpTransport::connect(std::string_view address,
                                                      std::chrono::milliseconds timeout) noexcept {
  try {
    auto hp = parse_host_port(address);
    if (!hp) return hp.error();
    if (hp->port == 0) return Error{Errc::invalid_argument, "tcp address '" + std::string(address) + "': port 0"};
    auto ai = resolve(*hp, false, address);
    if (!ai) return ai.error();
    Error last{Errc::unreachable, "connect " + std::string(address) + ": no usable address"};
    for (addrinfo* p = ai->get(); p != nullptr; p = p->ai_next) {
      UniqueFd fd(::socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol));
      if (!fd.valid()) {
        last = posix::socket_error("socket for", address, errno);
        continue;
      }
      auto st = posix::connect_with_timeout(fd.get(), p->ai_addr, p->ai_addrlen, timeout, address);
      if (!st) {
        last = st.error();
        continue;
      }
      if (nodelay_) set_nodelay(fd.get());
      sockaddr_storage peer{};
      std::memcpy(&peer, p->ai_addr, p->ai_addrlen);
      return std::unique_ptr<Stream>(std::make_unique<posix::FdStream>(std::move(fd), format_sockaddr(peer)));
    }
    return last;
  } catch (const std::exception& e) {
    return Error{Errc::internal, "connect " + std::string(address) + ": " + e.what()};
  }
}

Result<std::unique_ptr<Listener>> TcpTransport::listen(std::string_view address, int backlog) noexcept {
  try {
    auto hp = parse_host_port(address);
    if (!hp) return hp.error();
    auto ai = resolve(*hp, true, address);
    if (!ai) return ai.error();
    addrinfo* p = ai->get();
    UniqueFd fd(::socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol));
    if (!fd.valid()) return posix::socket_error("socket for", address, errno);
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), p->ai_addr, p->ai_addrlen) != 0) return posix::socket_error("bind", address, errno);
    if (::listen(fd.get(), backlog) != 0) return posix::socket_error("listen on", address, errno);
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len);
    const bool nodelay = nodelay_;
    return std::unique_ptr<Listener>(std::make_unique<posix::FdListener>(
        std::move(fd), format_sockaddr(local),
        [](const sockaddr_storage& ss, socklen_t) { return format_sockaddr(ss); },
        [nodelay](int cfd) {
          if (nodelay) set_nodelay(cfd);
        }));
  } catch (const std::exception& e) {
    return Error{Errc::internal, "listen on " + std::string(address) + ": " + e.what()};
  }
}

}  // namespace notify::tcp
