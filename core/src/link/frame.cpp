#include "link/frame.hpp"

#include <cstring>

namespace notify::link {

const char* message_type_name(MessageType t) noexcept {
  switch (t) {
    case MessageType::hello:
      return "hello";
    case MessageType::hello_ok:
      return "hello_ok";
    case MessageType::health_request:
      return "health_request";
    case MessageType::health_reply:
      return "health_reply";
    case MessageType::deliver_request:
      return "deliver_request";
    case MessageType::deliver_reply:
      return "deliver_reply";
    case MessageType::provision_request:
      return "provision_request";
    case MessageType::provision_reply:
      return "provision_reply";
    case MessageType::attest_request:
      return "attest_request";
    case MessageType::attest_reply:
      return "attest_reply";
    case MessageType::error_reply:
      return "error_reply";
    case MessageType::kms_provision_request:
      return "kms_provision_request";
    case MessageType::kms_provision_reply:
      return "kms_provision_reply";
    case MessageType::logs_request:
      return "logs_request";
    case MessageType::logs_reply:
      return "logs_reply";
    case MessageType::metrics_request:
      return "metrics_request";
    case MessageType::metrics_reply:
      return "metrics_reply";
    case MessageType::deliver_part:
      return "deliver_part";
  }
  return "unknown";
}

bool is_known_message_type(std::uint8_t t) noexcept {
  return t >= static_cast<std::uint8_t>(MessageType::hello) &&
         t <= static_cast<std::uint8_t>(MessageType::deliver_part);
}

std::array<std::byte, kHeaderSize> encode_header(const FrameHeader& h) noexcept {
  std::array<std::byte, kHeaderSize> b{};
  auto put = [&](std::size_t at, std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) b[at + i] = static_cast<std::byte>((v >> (8 * (n - 1 - i))) & 0xff);
  };
  put(0, kMagic, 2);
  put(2, h.major, 1);
  put(3, h.minor, 1);
  put(4, static_cast<std::uint8_t>(h.type), 1);
  put(5, 0, 1);
  put(6, 0, 2);
  put(8, h.correlation_id, 8);
  put(16, h.payload_size, 4);
  return b;
}

Result<FrameHeader> decode_header(std::span<const std::byte, kHeaderSize> b, std::uint32_t max_payload) noexcept {
  auto get = [&](std::size_t at, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<std::uint8_t>(b[at + i]);
    return v;
  };
  const auto magic = get(0, 2);
  if (magic != kMagic) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "bad magic 0x%04x (not an Enclave Notify link peer)", static_cast<unsigned>(magic));
    return Error{Errc::protocol_error, buf};
  }
  FrameHeader h;
  h.major = static_cast<std::uint8_t>(get(2, 1));
  h.minor = static_cast<std::uint8_t>(get(3, 1));
  const auto type = static_cast<std::uint8_t>(get(4, 1));
  if (!is_known_message_type(type)) {
    return Error{Errc::protocol_error, "unknown message type " + std::to_string(type)};
  }
  h.type = static_cast<MessageType>(type);
  if (get(5, 1) != 0 || get(6, 2) != 0) return Error{Errc::protocol_error, "reserved header bytes are not zero"};
  h.correlation_id = get(8, 8);
  h.payload_size = static_cast<std::uint32_t>(get(16, 4));
  if (h.payload_size > max_payload) {
    return Error{Errc::resource_exhausted, "frame payload of " + std::to_string(h.payload_size) +
                                               " bytes exceeds the maximum of " + std::to_string(max_payload)};
  }
  return h;
}

std::vector<std::byte> encode_frame(MessageType type, std::uint64_t correlation_id, std::string_view payload) {
  FrameHeader h;
  h.type = type;
  h.correlation_id = correlation_id;
  h.payload_size = static_cast<std::uint32_t>(payload.size());
  auto header = encode_header(h);
  std::vector<std::byte> out(kHeaderSize + payload.size());
  std::memcpy(out.data(), header.data(), kHeaderSize);
  if (!payload.empty()) std::memcpy(out.data() + kHeaderSize, payload.data(), payload.size());
  return out;
}

}  // namespace notify::link
