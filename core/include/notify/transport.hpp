#pragma once
/// @file transport.hpp
/// Transports turn an address string into connected byte streams and listeners, and do nothing else.
/// `tcp` takes `host:port` (`[v6]:port` for IPv6); `vsock` takes `cid:port`. Framing, TLS and HTTP live above.
///
/// What a transport exposes beyond the stream: its OS descriptor (Stream::native_handle(), Stream::release()). TLS
/// and HTTP libraries (OpenSSL, Poco) drive a socket descriptor themselves, so providers that speak HTTPS (Braze, the
/// KMS client) take the descriptor out of the stream and hand it over; the relay splices two descriptors. That is the
/// one way around the Stream interface, and it only works for transports whose streams are OS sockets: a transport
/// whose streams are anything else (in-process pipes, a userspace TLS or QUIC stack, a test double) returns -1 from
/// both, and its streams cannot carry a provider's TLS; callers must check for -1 and fail with an error naming the
/// transport, never pass -1 on.

#include <notify/abi.hpp>
#include <notify/result.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace notify {

/// A connected, bidirectional byte stream. Owns its descriptor; closing happens in the destructor.
/// A stream is used by one reader and one writer thread at a time; `shutdown()` may be called from any thread.
class NOTIFY_API Stream {
 public:
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  virtual ~Stream() = default;

  /// Reads at least one byte (up to buf.size()). Returns 0 only for buf.size()==0.
  /// Errc::closed on orderly EOF, Errc::timed_out when nothing arrived within `timeout`.
  virtual Result<std::size_t> read_some(std::span<std::byte> buf, std::chrono::milliseconds timeout) noexcept = 0;

  /// Writes all of `data` or fails. `timeout` bounds the whole call.
  virtual Status write_all(std::span<const std::byte> data, std::chrono::milliseconds timeout) noexcept = 0;

  /// Shuts both directions down so a blocked reader wakes with Errc::closed. Idempotent, thread-safe.
  virtual void shutdown() noexcept = 0;

  /// The peer's address in the transport's own notation, for logs.
  [[nodiscard]] virtual std::string peer_address() const = 0;

  /// The connected socket's OS descriptor, for libraries that drive the socket themselves (Poco, OpenSSL); still
  /// owned by the stream, so it must not be closed or outlive it. -1 when the stream is not an OS socket or after
  /// release(). Reading or writing it directly while also using read_some()/write_all() interleaves bytes: pick one.
  [[nodiscard]] virtual int native_handle() const noexcept = 0;

  /// Hands the descriptor over: the caller owns it from now on and must close it. The stream is empty afterwards:
  /// read_some()/write_all() fail with Errc::closed, native_handle() and release() return -1, and destroying it
  /// closes nothing. Returns -1 (and keeps the stream as it was) when the stream is not an OS socket. The descriptor's
  /// blocking mode is unspecified: set the one you need.
  virtual int release() noexcept = 0;
};

/// A bound, listening endpoint.
class NOTIFY_API Listener {
 public:
  Listener() = default;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  virtual ~Listener() = default;

  /// Waits up to `timeout` for one connection. Errc::timed_out when none came; Errc::closed after close().
  virtual Result<std::unique_ptr<Stream>> accept(std::chrono::milliseconds timeout) noexcept = 0;

  /// The bound address, with the real port when port 0 (ephemeral) was asked for.
  [[nodiscard]] virtual std::string local_address() const = 0;

  /// Stops accepting; a blocked accept() returns Errc::closed. Idempotent, thread-safe.
  virtual void close() noexcept = 0;
};

/// A transport plugin's object: a factory of streams and listeners for one address family.
class NOTIFY_API Transport {
 public:
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  virtual ~Transport() = default;

  /// Connects to `address` within `timeout`. Errors name the address: refused, unreachable, timed_out,
  /// not_found (name did not resolve), invalid_argument (malformed address), unsupported (kernel lacks it).
  virtual Result<std::unique_ptr<Stream>> connect(std::string_view address,
                                                  std::chrono::milliseconds timeout) noexcept = 0;

  /// Binds and listens on `address` (port 0 = ephemeral).
  virtual Result<std::unique_ptr<Listener>> listen(std::string_view address, int backlog) noexcept = 0;
};

/// Lets a plugin obtain another transport by name (e.g. a provider's egress), without knowing which plugin it is.
class NOTIFY_API TransportRegistry {
 public:
  virtual ~TransportRegistry() = default;
  /// The transport plugin called `name` ("tcp", "vsock", ...), loading it on first use. Lives as long as the host.
  virtual Result<std::shared_ptr<Transport>> transport(std::string_view name) noexcept = 0;
};

}  // namespace notify
