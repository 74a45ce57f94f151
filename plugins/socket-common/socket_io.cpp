#include "socket_io.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace notify::posix {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left < 0) return 0;
  return left > 0x7fffffff ? 0x7fffffff : static_cast<int>(left);
}

bool set_nonblocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags < 0) return false;
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  return ::fcntl(fd, F_SETFL, flags) == 0;
}

// Waits for `events` on fd until the deadline; returns poll's revents, 0 on timeout, -1 (errno set) on error.
int wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return rc;
    return p.revents;
  }
}

}  // namespace

Errc errc_from_errno(int err) noexcept {
  switch (err) {
    case ECONNREFUSED:
      return Errc::refused;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case ENETDOWN:
    case EHOSTDOWN:
      return Errc::unreachable;
    case ETIMEDOUT:
    case EAGAIN:
      return Errc::timed_out;
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
    case ESHUTDOWN:
      return Errc::closed;
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT:
    case ESOCKTNOSUPPORT:
    case EOPNOTSUPP:
      return Errc::unsupported;
    case EADDRINUSE:
    case EACCES:
    case EINVAL:
      return Errc::invalid_argument;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return Errc::resource_exhausted;
    default:
      return Errc::io_error;
  }
}

Error socket_error(std::string_view what, std::string_view address, int err) {
  std::string msg(what);
  msg += ' ';
  msg += address;
  msg += ": ";
  msg += std::strerror(err);
  return Error{errc_from_errno(err), std::move(msg)};
}

Status connect_with_timeout(int fd, const sockaddr* addr, socklen_t len, std::chrono::milliseconds timeout,
                            std::string_view address) {
  if (!set_nonblocking(fd, true)) return socket_error("connect", address, errno);
  const auto deadline = Clock::now() + timeout;
  if (::connect(fd, addr, len) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) return socket_error("connect", address, errno);
    int rev = wait_for(fd, POLLOUT, deadline);
    if (rev < 0) return socket_error("connect", address, errno);
    if (rev == 0) {
      return Error{Errc::timed_out,
                   "connect " + std::string(address) + ": timed out after " + std::to_string(timeout.count()) + " ms"};
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) return socket_error("connect", address, errno);
    if (soerr != 0) return socket_error("connect", address, soerr);
  }
  if (!set_nonblocking(fd, false)) return socket_error("connect", address, errno);
  return {};
}

FdStream::FdStream(UniqueFd fd, std::string peer) : fd_(std::move(fd)), peer_(std::move(peer)) {}

Result<std::size_t> FdStream::read_some(std::span<std::byte> buf, std::chrono::milliseconds timeout) noexcept {
  if (buf.empty()) return std::size_t{0};
  if (!fd_.valid()) return Error{Errc::closed, "read from " + peer_ + ": stream released"};
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int rev = wait_for(fd_.get(), POLLIN, deadline);
    if (rev < 0) return socket_error("read from", peer_, errno);
    if (rev == 0) return Error{Errc::timed_out, "read from " + peer_ + ": timed out"};
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) return Error{Errc::closed, "read from " + peer_ + ": connection closed by peer"};
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
    return socket_error("read from", peer_, errno);
  }
}

Status FdStream::write_all(std::span<const std::byte> data, std::chrono::milliseconds timeout) noexcept {
  if (!fd_.valid()) return Error{Errc::closed, "write to " + peer_ + ": stream released"};
  const auto deadline = Clock::now() + timeout;
  while (!data.empty()) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data = data.subspan(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return socket_error("write to", peer_, errno);
    int rev = wait_for(fd_.get(), POLLOUT, deadline);
    if (rev < 0) return socket_error("write to", peer_, errno);
    if (rev == 0) return Error{Errc::timed_out, "write to " + peer_ + ": timed out"};
    if (shut_.load()) return Error{Errc::closed, "write to " + peer_ + ": stream shut down"};
  }
  return {};
}

void FdStream::shutdown() noexcept {
  shut_.store(true);
  if (fd_.valid()) ::shutdown(fd_.get(), SHUT_RDWR);
}

FdListener::FdListener(UniqueFd fd, std::string local_address, PeerFormatter format_peer, AcceptedSocketSetup setup)
    : fd_(std::move(fd)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      local_(std::move(local_address)),
      format_peer_(std::move(format_peer)),
      setup_(std::move(setup)) {}

Result<std::unique_ptr<Stream>> FdListener::accept(std::chrono::milliseconds timeout) noexcept {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (closed_.load()) return Error{Errc::closed, "listener " + local_ + " closed"};
    pollfd p[2] = {{fd_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    int rc = ::poll(p, wake_.valid() ? 2 : 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return socket_error("accept on", local_, errno);
    if (closed_.load()) return Error{Errc::closed, "listener " + local_ + " closed"};
    if (rc == 0) return Error{Errc::timed_out, "accept on " + local_ + ": timed out"};
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) continue;
      return socket_error("accept on", local_, errno);
    }
    UniqueFd conn(fd);
    // Accepted sockets are used blocking-with-poll like connected ones.
    int flags = ::fcntl(fd, F_GETFL, 0);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    if (setup_) setup_(fd);
    try {
      return std::unique_ptr<Stream>(std::make_unique<FdStream>(std::move(conn), format_peer_(peer, len)));
    } catch (const std::exception& e) {
      return Error{Errc::internal, std::string("accept on ") + local_ + ": " + e.what()};
    }
  }
}

void FdListener::close() noexcept {
  if (closed_.exchange(true)) return;
  if (wake_.valid()) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  }
  ::shutdown(fd_.get(), SHUT_RDWR);
}

}  // namespace notify::posix
