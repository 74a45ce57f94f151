#pragma once
// The fd-level machinery every socket transport shares: a Stream and a Listener over a connected / listening socket
// descriptor, a connect with a deadline, and errno → Errc mapping. Transports only add address parsing.

#include <notify/toolkit/unique_fd.hpp>
#include <notify/transport.hpp>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace notify::posix {

/// The toolkit's fd owner, the one every descriptor in the transports is held in.
using UniqueFd = toolkit::UniqueFd;

/// Maps an errno from connect/read/write to the SDK's error class.
Errc errc_from_errno(int err) noexcept;

/// "<what> <address>: <strerror>" with the matching Errc.
Error socket_error(std::string_view what, std::string_view address, int err);

/// Connects a non-blocking socket `fd` to `addr` within `timeout`, then puts it back in blocking mode.
/// `address` is only for error messages.
Status connect_with_timeout(int fd, const sockaddr* addr, socklen_t len, std::chrono::milliseconds timeout,
                            std::string_view address);

/// A connected socket. Reads and writes poll() with the caller's timeout, so no call blocks forever.
class FdStream final : public Stream {
 public:
  FdStream(UniqueFd fd, std::string peer);
  Result<std::size_t> read_some(std::span<std::byte> buf, std::chrono::milliseconds timeout) noexcept override;
  Status write_all(std::span<const std::byte> data, std::chrono::milliseconds timeout) noexcept override;
  void shutdown() noexcept override;
  [[nodiscard]] std::string peer_address() const override { return peer_; }
  [[nodiscard]] int native_handle() const noexcept override { return fd_.get(); }
  int release() noexcept override { return fd_.release(); }

 private:
  UniqueFd fd_;
  std::string peer_;
  std::atomic<bool> shut_{false};
};

/// Formats a peer address for an accepted connection.
using PeerFormatter = std::function<std::string(const sockaddr_storage&, socklen_t)>;
/// Applies per-connection socket options to an accepted socket (e.g. TCP_NODELAY).
using AcceptedSocketSetup = std::function<void(int fd)>;

/// A listening socket. close() from another thread wakes a blocked accept() through an eventfd.
class FdListener final : public Listener {
 public:
  FdListener(UniqueFd fd, std::string local_address, PeerFormatter format_peer, AcceptedSocketSetup setup);
  Result<std::unique_ptr<Stream>> accept(std::chrono::milliseconds timeout) noexcept override;
  [[nodiscard]] std::string local_address() const override { return local_; }
  void close() noexcept override;

 private:
  UniqueFd fd_;
  UniqueFd wake_;  // eventfd
  std::string local_;
  PeerFormatter format_peer_;
  AcceptedSocketSetup setup_;
  std::atomic<bool> closed_{false};
};

}  // namespace notify::posix
