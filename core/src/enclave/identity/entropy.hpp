#pragma once
// Inside a Nitro Enclave the kernel's entropy pool can be thin before TLS starts; the Nitro Secure Module has a
// hardware RNG. Mix its bytes into OpenSSL's RNG when /dev/nsm exists, and say in the log which source was used.

#include <notify/log.hpp>

#include <string>

namespace notify {

/// Returns true when /dev/nsm supplied bytes. `device` is for tests.
bool seed_rng_from_nsm_if_present(Log& log, const std::string& device = "/dev/nsm");

}  // namespace notify
