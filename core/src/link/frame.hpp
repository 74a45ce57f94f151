#pragma once
// The link's framing: a fixed 20-byte big-endian header, then the payload.
//
//   offset size field
//   0      2    magic 0x454E ("EN")
//   2      1    protocol major   (a peer with another major is refused at the handshake)
//   3      1    protocol minor   (informational; minors are compatible)
//   4      1    message type
//   5      1    flags (0; reserved)
//   6      2    reserved (0)
//   8      8    correlation id (request and its reply carry the same id)
//   16     4    payload length (checked against the configured maximum before any allocation)

#include <notify/result.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace notify::link {

inline constexpr std::uint16_t kMagic = 0x454E;
inline constexpr std::uint8_t kProtocolMajor = 2;
// Majors: 1 carried every payload as JSON; 2 carries the deliver messages as CBOR (deliver_codec.cpp). A peer of
// another major is refused at the handshake, the message naming both versions. Minor versions add, never change
// (trailing fields of a CBOR record; a new JSON member).
// 2.1 added logs_request/logs_reply (a parent asks only a peer of minor 1 or later).
// 2.2 added device tokens, topic, ttl, priority, collapse_key and condition to a notification and per-token results to
// a deliver result (a parent sends notifications using them only to a peer of minor 2 or later). 2.3 added
// metrics_request/metrics_reply (a parent asks only a peer of minor 3 or later). 2.4 added deliver_part (an enclave
// sends parts only to a parent whose hello said minor 4 or later).
inline constexpr std::uint8_t kProtocolMinor = 4;
inline constexpr std::size_t kHeaderSize = 20;

enum class MessageType : std::uint8_t {
  hello = 1,     ///< client → server, first frame: node name and version
  hello_ok = 2,  ///< server → client
  health_request = 3,
  health_reply = 4,
  deliver_request = 5,  ///< a batch of notifications
  deliver_reply = 6,    ///< one result per notification, same order
  provision_request = 7,
  provision_reply = 8,
  attest_request = 9,
  attest_reply = 10,
  error_reply = 11,            ///< any request failed: an Errc name and a message
  kms_provision_request = 12,  ///< AWS credentials + CiphertextBlobs, so the enclave can ask KMS itself
  kms_provision_reply = 13,
  logs_request = 14,  ///< parent → enclave (protocol 2.1): the enclave's buffered log lines, oldest first
  logs_reply = 15,
  metrics_request = 16,  ///< parent → enclave (protocol 2.3): the enclave's metrics, to expose on the parent's /metrics
  metrics_reply = 17,
  deliver_part = 18,  ///< enclave → parent (protocol 2.4): results known before the deliver_reply, same correlation id
};

const char* message_type_name(MessageType t) noexcept;
bool is_known_message_type(std::uint8_t t) noexcept;

struct FrameHeader {
  std::uint8_t major = kProtocolMajor;
  std::uint8_t minor = kProtocolMinor;
  MessageType type = MessageType::error_reply;
  std::uint64_t correlation_id = 0;
  std::uint32_t payload_size = 0;
};

struct Frame {
  FrameHeader header;
  std::string payload;
};

std::array<std::byte, kHeaderSize> encode_header(const FrameHeader& h) noexcept;

/// Parses a header. Refuses a bad magic, an unknown type, non-zero reserved bytes and a payload larger than
/// `max_payload` — before anything is allocated for it. The major version is returned, not checked: the handshake
/// decides what to do with another major.
Result<FrameHeader> decode_header(std::span<const std::byte, kHeaderSize> bytes, std::uint32_t max_payload) noexcept;

/// Header + payload as one buffer, ready to write.
std::vector<std::byte> encode_frame(MessageType type, std::uint64_t correlation_id, std::string_view payload);

}  // namespace notify::link
