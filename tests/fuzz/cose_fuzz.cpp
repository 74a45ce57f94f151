// libFuzzer target: the attestation document path — COSE_Sign1 and payload decoding (libcbor), certificate parsing
// and verification, the NSM response decoders, and the sealed-envelope (ENS2) header parser that reads what a parent
// hands over. Invariant: every input ends in a verdict or a named error.
#include "attestation/sealing.hpp"
#include "attestation/verifier.hpp"
#include "enclave/identity/nsm_device.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace notify::attestation;
  std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  VerifyOptions o;
  o.allow_debug = true;
  o.allow_development = true;
  o.at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1725719859545));
  (void)verify_attestation(input, o);
  (void)decode_nsm_attestation_response(input);
  (void)decode_nsm_get_random_response(input);
  (void)inspect_sealed_secret(input);
  return 0;
}
