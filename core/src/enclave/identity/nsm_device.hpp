#pragma once
// The Nitro Secure Module device (/dev/nsm) inside a real enclave: attestation documents and hardware randomness,
// through the ioctl and CBOR messages that AWS's nsm-api uses:
//   ioctl(fd, _IOWR(0x0A, 0, {iovec request; iovec response}), &message)
//   request  {"Attestation": {"user_data": bytes|null, "nonce": bytes|null, "public_key": bytes|null}} or "GetRandom"
//   response {"Attestation": {"document": bytes}} | {"GetRandom": {"random": bytes}} | {"Error": "<code>"}
// The message codecs are pure functions (unit-tested here); the device itself exists only inside an enclave.

#include "attestation/attestation_document.hpp"

#include <notify/result.hpp>
#include <notify/toolkit/unique_fd.hpp>

#include <optional>
#include <span>
#include <string>
#include <utility>

namespace notify::attestation {

Bytes encode_nsm_attestation_request(std::optional<std::span<const std::byte>> public_key,
                                     std::optional<std::span<const std::byte>> nonce,
                                     std::optional<std::span<const std::byte>> user_data);
Result<Bytes> decode_nsm_attestation_response(std::span<const std::byte> response);
Bytes encode_nsm_get_random_request();
Result<Bytes> decode_nsm_get_random_response(std::span<const std::byte> response);

class NsmDevice {
 public:
  /// Opens the device; fails with "no /dev/nsm: not inside a Nitro enclave" elsewhere.
  static Result<NsmDevice> open(const std::string& path = "/dev/nsm");
  NsmDevice(NsmDevice&& other) noexcept = default;
  NsmDevice& operator=(NsmDevice&&) = delete;
  NsmDevice(const NsmDevice&) = delete;
  ~NsmDevice() = default;

  Result<Bytes> attest(std::span<const std::byte> public_key, std::span<const std::byte> nonce);
  Result<Bytes> get_random();

 private:
  explicit NsmDevice(toolkit::UniqueFd fd) : fd_(std::move(fd)) {}
  Result<Bytes> call(const Bytes& request);
  toolkit::UniqueFd fd_;
};

}  // namespace notify::attestation
