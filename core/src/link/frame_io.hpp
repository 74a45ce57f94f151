#pragma once
// Reading and writing whole frames on a Stream, with the link's two timeouts: how long a connection may sit idle
// between frames (the caller's loop decides), and how long the rest of a frame may take once it has started.

#include "link/frame.hpp"

#include <notify/transport.hpp>

#include <chrono>

namespace notify::link {

/// Reads exactly buf.size() bytes within `timeout`.
Status read_exact(Stream& stream, std::span<std::byte> buf, std::chrono::milliseconds timeout) noexcept;

/// Reads one frame. Waits up to `idle_timeout` for its first byte: if none comes, returns Errc::timed_out with nothing
/// consumed (the connection is merely idle). Once started, the whole frame must arrive within `io_timeout`, else it is
/// a truncated frame (Errc::protocol_error). The payload size is checked against `max_payload` before allocating.
Result<Frame> read_frame(Stream& stream, std::uint32_t max_payload, std::chrono::milliseconds idle_timeout,
                         std::chrono::milliseconds io_timeout) noexcept;

}  // namespace notify::link
