#pragma once
// Writes frames to a Stream from many threads, coalesced: a thread that finds no write in progress becomes the
// writer and sends everything queued (its frame and any that arrive meanwhile) in as few write calls as the socket
// takes; the others queue their frame and return at once. Replies of concurrent requests thus leave in one send
// instead of one each, and no caller waits behind another's slow write unless the queue is full.
//
// A failed write shuts the stream down (the reader sees it; the link reconnects or drops the connection) and fails
// every later send. The queue is bounded in bytes: a sender beyond it waits for room, so a peer that stops reading
// cannot grow our memory. Frames marked sensitive are wiped from our buffers once written.

#include "link/frame.hpp"

#include <notify/log.hpp>
#include <notify/transport.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace notify::link {

class FrameWriter {
 public:
  static constexpr std::size_t kDefaultMaxQueuedBytes = 16u << 20;

  FrameWriter(Stream& stream, std::chrono::milliseconds io_timeout,
              std::size_t max_queued_bytes = kDefaultMaxQueuedBytes);
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  /// Queues one frame and, if no other thread is writing, writes the queue. Errc::closed once a write has failed
  /// (the frame is not sent).
  Status send(MessageType type, std::uint64_t correlation_id, std::string_view payload, bool sensitive = false);

  /// Why writing stopped (empty while healthy).
  [[nodiscard]] std::string failure() const;

 private:
  Stream& stream_;
  std::chrono::milliseconds io_timeout_;
  std::size_t max_queued_bytes_;
  mutable std::mutex mu_;
  std::condition_variable room_;   // senders waiting for the queue to drain below max_queued_bytes_
  std::vector<std::byte> queued_;  // frames waiting for the writer, back to back
  bool queued_sensitive_ = false;  // something in queued_ must be wiped after it is written
  bool writing_ = false;
  std::string failure_;
};

}  // namespace notify::link
