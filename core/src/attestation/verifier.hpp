#pragma once
// Verification of an attestation document, each check named in its failure:
//   cose       the envelope decodes, algorithm ES384
//   document   the payload decodes with every required field
//   signature  ES384 over the COSE Sig_structure with the leaf certificate's key
//   chain      leaf → cabundle → the pinned AWS Nitro Enclaves root (or the caller's trusted root), valid at the
//              chosen time
//   root       the chain ends at that root
//   nonce      equals the caller's nonce (when given)
//   pcr        PCR values equal the expected ones (when given)
//   debug      PCR0 all zeros means a debug-mode enclave: refused unless allowed
// A document from the development attester chains to its own self-signed root, not AWS's: it is accepted only when
// allow_development is set, and the verdict says so.

#include "attestation/attestation_document.hpp"

#include <notify/result.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>

namespace notify::attestation {

struct VerifyOptions {
  std::optional<std::chrono::system_clock::time_point> at;  // default: now
  std::optional<Bytes> expected_nonce;
  std::map<std::uint32_t, Bytes> expected_pcrs;
  bool allow_debug = false;
  bool allow_development = false;
  /// A DER certificate that replaces the pinned AWS root as the only trust anchor: for tests, and for operators
  /// running their own CA in a lab. Unset (the default), documents must chain to AWS's root.
  std::optional<Bytes> trusted_root;
};

struct Verdict {
  AttestationDocument document;
  bool debug_mode = false;   // PCR0 all zeros
  bool development = false;  // signed by the development attester, not Nitro
  std::string root_subject;
};

/// The subject marker the development attester puts in its certificates; the verifier keys on it.
inline constexpr std::string_view kDevelopmentMarker = "DEVELOPMENT attester - not AWS Nitro";

Result<Verdict> verify_attestation(std::span<const std::byte> document, const VerifyOptions& options);

/// A PCR policy that may gate provisioning must pin the image: PCR0, PCR1 and PCR2 (or PCR8, the signing
/// certificate). A partial policy is refused with the reason, naming what is missing. A value that is empty or all
/// zeros (what every debug-mode enclave reports) pins nothing and counts as missing.
Status check_provisioning_pcr_policy(const std::map<std::uint32_t, Bytes>& expected_pcrs);

/// Expected PCRs from JSON: {"PCR0": "hex", ...}, or nitro-cli build-enclave output {"Measurements": {...}}.
Result<std::map<std::uint32_t, Bytes>> parse_pcr_policy(std::string_view json);

}  // namespace notify::attestation
