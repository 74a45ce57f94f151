#include "enclave/identity/entropy.hpp"

#include "enclave/identity/nsm_device.hpp"

#include <openssl/rand.h>

#include <filesystem>
#include <system_error>

namespace notify {

bool seed_rng_from_nsm_if_present(Log& log, const std::string& device) {
  std::error_code ec;
  if (!std::filesystem::exists(device, ec)) {
    log.info("entropy: " + device + " absent, using OS RNG");
    return false;
  }
  // The NSM ioctl codec is the attestation area's (GetRandom request/response); reuse it.
  auto nsm = attestation::NsmDevice::open(device);
  if (!nsm) {
    log.warning("entropy: " + device + " present but unusable (" + nsm.error().message + "), using OS RNG");
    return false;
  }
  auto bytes = nsm->get_random();
  if (!bytes || bytes->empty()) {
    log.warning("entropy: GetRandom on " + device + " failed (" +
                (bytes ? std::string("no bytes") : bytes.error().message) + "), using OS RNG");
    return false;
  }
  // Full entropy per byte: the NSM's RNG is a hardware source.
  RAND_add(bytes->data(), static_cast<int>(bytes->size()), static_cast<double>(bytes->size()));
  log.info("entropy: seeded from " + device + " (" + std::to_string(bytes->size()) + " bytes)");
  return true;
}

}  // namespace notify
