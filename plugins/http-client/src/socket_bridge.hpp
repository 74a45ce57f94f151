#pragma once
// Puts an egress socket that is not TCP (AF_VSOCK to the parent's relay) behind a loopback TCP pair before libcurl
// gets it.
//
// Why: libcurl 7.88 (Debian 12's) ignores CURL_SOCKOPT_ALREADY_CONNECTED (curl issue #10626, fixed in 8.0.0) and calls
// connect() on the socket the open-socket callback handed it, with the placeholder address. A TCP socket whose
// non-blocking connect has completed answers that call with 0 (Linux then marks it connected), which is what the
// socket transports hand over; any other socket fails it (EINVAL, EAFNOSUPPORT or EISCONN) and no request could leave.
// So curl gets one end of a loopback TCP connection, left in that state, and a thread copies bytes both ways between
// the other end and the transport's socket. TLS still runs end to end: the bridge only ever carries ciphertext.

#include <notify/result.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace notify::http {

/// Whether this libcurl connects a socket its sockopt callback called already connected (7.88 does; 8.0.0 not).
bool curl_connects_handed_sockets();

class SocketBridges {
 public:
  SocketBridges() = default;
  SocketBridges(const SocketBridges&) = delete;
  SocketBridges& operator=(const SocketBridges&) = delete;
  /// Stops every bridge and waits for its thread.
  ~SocketBridges();

  /// Takes ownership of the connected socket `fd` and returns the socket to give libcurl: `fd` itself when it is a TCP
  /// socket, or the client end of a new bridge to it. On failure `fd` is closed.
  Result<int> adapt(int fd);

 private:
  void copy_both_ways(int a, int b);

  struct Bridge {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<Bridge> bridges_;  // finished ones are joined when the next is made
};

}  // namespace notify::http
