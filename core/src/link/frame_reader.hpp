#pragma once
// Reads frames from a Stream through one buffer: each read_some takes whatever the socket has (up to the buffer's
// free space), and every whole frame in it is handed out before the socket is read again. A peer that pipelines
// requests costs one recv for many frames instead of a poll and a recv per header and per payload.
//
// Timeouts are the link's two: with nothing of the next frame buffered, a read that sees nothing within
// `idle_timeout` returns Errc::timed_out with nothing consumed (the connection is merely idle); once a frame has
// started, the rest must arrive within `io_timeout` of its first byte, else the frame is truncated
// (Errc::protocol_error). Each header is checked against the current maximum before its payload is allocated.
// Memory per reader: the buffer (fixed) plus, for a frame larger than the buffer, that frame's payload.

#include "link/frame.hpp"

#include <notify/transport.hpp>

#include <chrono>
#include <cstddef>
#include <vector>

namespace notify::link {

class FrameReader {
 public:
  static constexpr std::size_t kDefaultBufferBytes = 64 * 1024;

  FrameReader(Stream& stream, std::uint32_t max_payload, std::size_t buffer_bytes = kDefaultBufferBytes);

  /// The next whole frame (see above for the timeouts).
  Result<Frame> next(std::chrono::milliseconds idle_timeout, std::chrono::milliseconds io_timeout) noexcept;

  /// The largest payload accepted from now on (the server lowers it until the handshake is done).
  void set_max_payload(std::uint32_t max_payload) noexcept { max_payload_ = max_payload; }

  /// Bytes received and not yet handed out as frames.
  [[nodiscard]] std::size_t buffered() const noexcept { return end_ - begin_; }

 private:
  Result<Frame> next_impl(std::chrono::milliseconds idle_timeout, std::chrono::milliseconds io_timeout);
  /// One read_some into the free space after end_ (compacting first when the tail is full).
  Status fill(std::chrono::milliseconds timeout);

  Stream& stream_;
  std::uint32_t max_payload_;
  std::vector<std::byte> buffer_;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last received byte
};

}  // namespace notify::link
