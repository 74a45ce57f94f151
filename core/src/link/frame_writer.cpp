#include "link/frame_writer.hpp"

#include <strings.h>
#include <cstring>

namespace notify::link {

FrameWriter::FrameWriter(Stream& stream, std::chrono::milliseconds io_timeout, std::size_t max_queued_bytes)
    : stream_(stream), io_timeout_(io_timeout), max_queued_bytes_(max_queued_bytes) {}

std::string FrameWriter::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

Status FrameWriter::send(MessageType type, std::uint64_t correlation_id, std::string_view payload, bool sensitive) {
  FrameHeader h;
  h.type = type;
  h.correlation_id = correlation_id;
  h.payload_size = static_cast<std::uint32_t>(payload.size());
  const auto header = encode_header(h);
  const std::size_t size = kHeaderSize + payload.size();

  std::unique_lock lock(mu_);
  // Room for this frame (a frame larger than the whole bound goes alone, once the queue is empty).
  room_.wait(lock, [&] { return !failure_.empty() || queued_.empty() || queued_.size() + size <= max_queued_bytes_; });
  if (!failure_.empty()) return Error{Errc::closed, "link write failed earlier: " + failure_};
  const auto at = queued_.size();
  queued_.resize(at + size);
  std::memcpy(queued_.data() + at, header.data(), kHeaderSize);
  if (!payload.empty()) std::memcpy(queued_.data() + at + kHeaderSize, payload.data(), payload.size());
  queued_sensitive_ = queued_sensitive_ || sensitive;
  if (writing_) return {};  // the thread writing now takes it with its next round

  writing_ = true;
  std::vector<std::byte> out;
  while (!queued_.empty() && failure_.empty()) {
    out.swap(queued_);
    const bool wipe = queued_sensitive_;
    queued_sensitive_ = false;
    lock.unlock();
    room_.notify_all();
    const auto st = stream_.write_all(out, io_timeout_);
    if (wipe) explicit_bzero(out.data(), out.size());
    out.clear();
    lock.lock();
    if (!st) {
      failure_ = st.message();
      if (queued_sensitive_) explicit_bzero(queued_.data(), queued_.size());
      queued_.clear();
      lock.unlock();
      stream_.shutdown();  // the reader sees the end: a client reconnects and re-sends, a server drops the peer
      lock.lock();
    }
  }
  writing_ = false;
  const std::string failed = failure_;
  lock.unlock();
  room_.notify_all();
  if (!failed.empty()) return Error{Errc::closed, "link write failed: " + failed};
  return {};
}

}  // namespace notify::link
