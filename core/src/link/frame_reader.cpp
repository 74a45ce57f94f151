#include "link/frame_reader.hpp"

#include <algorithm>
#include <cstring>

namespace notify::link {

namespace {
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds left_until(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}

Error truncated(const std::string& what, const Error& cause) {
  return Error{Errc::protocol_error, "truncated frame: " + what + " (" + cause.message + ")"};
}
}  // namespace

FrameReader::FrameReader(Stream& stream, std::uint32_t max_payload, std::size_t buffer_bytes)
    : stream_(stream), max_payload_(max_payload), buffer_(std::max<std::size_t>(buffer_bytes, 2 * kHeaderSize)) {}

Status FrameReader::fill(std::chrono::milliseconds timeout) {
  if (end_ == buffer_.size()) {  // no room at the tail: move what is unconsumed to the front
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  auto n = stream_.read_some(std::span(buffer_).subspan(end_), timeout);
  if (!n) return n.error();
  end_ += *n;
  return {};
}

Result<Frame> FrameReader::next(std::chrono::milliseconds idle_timeout, std::chrono::milliseconds io_timeout) noexcept {
  try {
    return next_impl(idle_timeout, io_timeout);
  } catch (const std::exception& e) {  // bad_alloc for a payload: the connection is closed, the process lives on
    return Error{Errc::internal, std::string("reading a frame: ") + e.what()};
  }
}

Result<Frame> FrameReader::next_impl(std::chrono::milliseconds idle_timeout, std::chrono::milliseconds io_timeout) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    if (auto st = fill(idle_timeout); !st) return st.error();  // timed_out here: idle, nothing consumed
  }
  const auto deadline = Clock::now() + io_timeout;  // the frame has started: the rest comes within io_timeout
  while (end_ - begin_ < kHeaderSize) {
    const auto left = left_until(deadline);
    if (left.count() <= 0) return Error{Errc::protocol_error, "truncated frame: header incomplete"};
    if (auto st = fill(left); !st) {
      if (st.code() == Errc::timed_out || st.code() == Errc::closed) return truncated("header incomplete", st.error());
      return st.error();
    }
  }
  auto header =
      decode_header(std::span<const std::byte, kHeaderSize>(buffer_.data() + begin_, kHeaderSize), max_payload_);
  if (!header) return header.error();
  begin_ += kHeaderSize;
  Frame frame;
  frame.header = *header;
  frame.payload.resize(header->payload_size);
  // Whatever of the payload is buffered already, then straight into the frame for the rest (no double copy of a
  // large payload, and the buffer never grows).
  std::size_t have = std::min<std::size_t>(end_ - begin_, header->payload_size);
  if (have > 0) std::memcpy(frame.payload.data(), buffer_.data() + begin_, have);
  begin_ += have;
  while (have < header->payload_size) {
    const auto left = left_until(deadline);
    const auto what = "payload of " + std::to_string(header->payload_size) + " bytes incomplete";
    if (left.count() <= 0) return Error{Errc::protocol_error, "truncated frame: " + what};
    const auto rest = header->payload_size - have;
    Result<std::size_t> n = Error{Errc::internal, ""};
    if (rest >= buffer_.size() / 2) {
      n = stream_.read_some(std::as_writable_bytes(std::span(frame.payload)).subspan(have), left);
    } else {  // a small remainder: read into the buffer, so the frames behind it come with the same recv
      begin_ = end_ = 0;
      if (auto st = fill(left); !st) {
        n = st.error();
      } else {
        const std::size_t take = std::min<std::size_t>(end_, rest);
        std::memcpy(frame.payload.data() + have, buffer_.data(), take);
        begin_ = take;
        n = take;
      }
    }
    if (!n) {
      if (n.error().code == Errc::timed_out || n.error().code == Errc::closed) return truncated(what, n.error());
      return n.error();
    }
    have += *n;
  }
  if (begin_ == end_) begin_ = end_ = 0;
  return frame;
}

}  // namespace notify::link
