#include "socket_bridge.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace notify::http {
namespace {

// Closes a descriptor on scope exit unless released.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

bool is_tcp(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  int type = 0;
  socklen_t type_len = sizeof type;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0) return false;
  return (addr.ss_family == AF_INET || addr.ss_family == AF_INET6) && type == SOCK_STREAM;
}

Error bridge_error(const char* what) {
  return Error{Errc::io_error,
               std::string("loopback bridge for the egress socket: ") + what + ": " + std::strerror(errno)};
}

bool same_address(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_family == b.sin_family && a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
}

}  // namespace

bool curl_connects_handed_sockets() {
  const auto* info = curl_version_info(CURLVERSION_NOW);
  return info != nullptr && info->version_num < 0x080000;
}

SocketBridges::~SocketBridges() {
  stopping_ = true;
  std::lock_guard lock(mu_);
  for (auto& b : bridges_) b.thread.join();
}

Result<int> SocketBridges::adapt(int fd) {
  Fd egress(fd);
  if (is_tcp(fd) || !curl_connects_handed_sockets()) return egress.release();

  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener.get() < 0 || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return bridge_error("listen on 127.0.0.1");
  }
  // Non-blocking connect, confirmed by poll but not by a second connect(): that one is curl's (see the header).
  Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (client.get() < 0) return bridge_error("socket");
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    return bridge_error("connect");
  }
  pollfd ready{listener.get(), POLLIN, 0};
  if (::poll(&ready, 1, 2000) != 1) return bridge_error("accept");
  sockaddr_in peer{};
  socklen_t peer_len = sizeof peer;
  Fd server(::accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC));
  if (server.get() < 0) return bridge_error("accept");
  // Only our own client may be on the other end (in dev, another local process could race for the port).
  sockaddr_in local{};
  socklen_t local_len = sizeof local;
  if (::getsockname(client.get(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0 || !same_address(local, peer)) {
    errno = EPERM;
    return bridge_error("unexpected peer");
  }
  pollfd writable{client.get(), POLLOUT, 0};
  int so_error = 0;
  socklen_t so_len = sizeof so_error;
  if (::poll(&writable, 1, 2000) != 1 || ::getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0 ||
      so_error != 0) {
    return bridge_error("connect");
  }
  const int a = server.release();
  const int b = egress.release();
  std::lock_guard lock(mu_);
  std::erase_if(bridges_, [](Bridge& old) {
    if (!old.done->load()) return false;
    old.thread.join();
    return true;
  });
  auto done = std::make_shared<std::atomic<bool>>(false);
  bridges_.push_back({std::thread([this, a, b, done] {
                        copy_both_ways(a, b);
                        done->store(true);
                      }),
                      done});
  return client.release();
}

void SocketBridges::copy_both_ways(int a, int b) {
  // A stalled peer must not keep a write (and so the client's destructor) waiting forever.
  const timeval send_timeout{5, 0};
  ::setsockopt(a, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  ::setsockopt(b, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  char buf[16384];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  bool open = true;
  while (open && !stopping_) {
    if (::poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2 && open; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        open = false;  // one side closed or failed: so does the other
        break;
      }
      for (ssize_t off = 0; off < n;) {
        const ssize_t w = ::send(fds[1 - i].fd, buf + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
        if (w <= 0) {
          open = false;
          break;
        }
        off += w;
      }
    }
  }
  ::shutdown(a, SHUT_RDWR);
  ::shutdown(b, SHUT_RDWR);
  ::close(a);
  ::close(b);
}

}  // namespace notify::http
