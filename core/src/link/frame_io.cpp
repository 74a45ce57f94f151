#include "link/frame_io.hpp"

namespace notify::link {

Status read_exact(Stream& stream, std::span<std::byte> buf, std::chrono::milliseconds timeout) noexcept {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!buf.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error{Errc::timed_out, "timed out"};
    auto n = stream.read_some(buf, left);
    if (!n) return n.error();
    buf = buf.subspan(*n);
  }
  return {};
}

Result<Frame> read_frame(Stream& stream, std::uint32_t max_payload, std::chrono::milliseconds idle_timeout,
                         std::chrono::milliseconds io_timeout) noexcept {
  try {
    std::array<std::byte, kHeaderSize> header{};
    auto first = stream.read_some(std::span(header).first(1), idle_timeout);
    if (!first) return first.error();  // timed_out here means idle, nothing consumed
    if (auto st = read_exact(stream, std::span(header).subspan(1), io_timeout); !st) {
      if (st.code() == Errc::timed_out) return Error{Errc::protocol_error, "truncated frame: header incomplete"};
      if (st.code() == Errc::closed) return Error{Errc::protocol_error, "truncated frame: closed inside the header"};
      return st.error();
    }
    auto h = decode_header(header, max_payload);
    if (!h) return h.error();
    Frame f;
    f.header = *h;
    f.payload.resize(h->payload_size);
    auto bytes = std::as_writable_bytes(std::span(f.payload));
    if (auto st = read_exact(stream, bytes, io_timeout); !st) {
      if (st.code() == Errc::timed_out || st.code() == Errc::closed) {
        return Error{Errc::protocol_error, "truncated frame: payload of " + std::to_string(h->payload_size) +
                                               " bytes incomplete (" + st.message() + ")"};
      }
      return st.error();
    }
    return f;
  } catch (const std::exception& e) {
    return Error{Errc::internal, std::string("read_frame: ") + e.what()};
  }
}

}  // namespace notify::link
