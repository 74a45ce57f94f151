// libFuzzer target: everything the link decodes from a peer — the frame header and every message payload decoder.
// Invariant: no input crashes, hangs or allocates beyond the frame limit; errors come back as values.
#include "link/frame.hpp"
#include "link/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace notify::link;
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  if (size >= kHeaderSize) {
    std::span<const std::byte, kHeaderSize> header(bytes, kHeaderSize);
    (void)decode_header(header, 4u << 20);
  }
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  (void)decode_hello(payload);
  (void)decode_health(payload);
  (void)decode_deliver_request(payload);
  (void)decode_deliver_reply(payload);
  (void)decode_deliver_part(payload);
  (void)decode_provision_request(payload);
  (void)decode_attest_request(payload);
  (void)decode_attest_reply(payload);
  (void)decode_error(payload);
  (void)decode_kms_provision_request(payload);
  (void)decode_kms_provision_reply(payload);
  return 0;
}
