#pragma once
// Shared by attest, seal and provision: the link to the enclave, the secret and signing-key files, and the checks a
// document must pass before a secret is sealed to it.

#include "attestation/provisioners.hpp"
#include "attestation/verifier.hpp"
#include "ctl_options.hpp"
#include "link/link_client.hpp"

#include <notify/log.hpp>
#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <iostream>
#include <memory>
#include <span>
#include <string>

namespace notify::ctl {

// Exit codes (sysexits.h where one fits), the same for every command.
inline constexpr int kExitRefused = 1;  // verification or the enclave said no
inline constexpr int kExitUsage = 64;
inline constexpr int kExitDataError = 65;    // an input file is not what it should be
inline constexpr int kExitNoInput = 66;      // an input file cannot be read
inline constexpr int kExitUnavailable = 69;  // the enclave cannot be reached
inline constexpr int kExitSoftware = 70;
inline constexpr int kExitCannotCreate = 73;  // the output file cannot be written

class StderrLog final : public Log {
 public:
  [[nodiscard]] bool enabled(LogLevel level) const noexcept override { return level >= LogLevel::warning; }
  void write(LogLevel, std::string_view m) noexcept override { std::cerr << "notify-ctl: " << m << "\n"; }
};

/// A started link client to the enclave (--address, --transport; default vsock
/// ${ENCLAVE_CID:-16}:${ENCLAVE_PORT:-5000}).
struct EnclaveLink {
  EnclaveLink(std::shared_ptr<Transport> transport, link::ClientOptions options);
  StderrLog log;  // before client, which holds a reference to it
  link::LinkClient client;
  std::string address;
};
/// Errc::invalid_argument for a bad --transport.
Result<std::unique_ptr<EnclaveLink>> open_enclave_link(const CtlOptions& options);
/// The exit code for a failed link request: the enclave's refusal (1) or an unreachable enclave (69).
int link_failure_exit_code(const Error& e);

/// The secret in `path`, trailing newlines dropped. Errc::not_found: unreadable; Errc::invalid_argument: empty.
Result<Secret> read_secret_file(const std::string& path);

/// --sign-key FILE: the operator's private key, or nullptr without the flag. Errc::not_found: unreadable;
/// Errc::invalid_argument: not an unencrypted ECDSA P-256 or Ed25519 PEM private key.
Result<attestation::PkeyPtr> read_signing_key(const CtlOptions& options);

/// What sealing to a document requires of the flags: the verify options (--expect-pcrs or --pcrN, --allow-debug,
/// --allow-development) and a PCR policy that pins the image — unless --allow-development, which may omit it for a
/// development document only. Prints the reason and sets `exit_code` on failure.
std::optional<attestation::VerifyOptions> sealing_options(const CtlOptions& options, int& exit_code);

/// Verifies a document before a secret is sealed to it: signature, chain, PCRs, not debug (unless allowed), the PCR
/// policy complete (unless a development document with --allow-development), and a nonce and a public key present.
/// Errors are refusals, saying why.
Result<attestation::Verdict> verify_for_sealing(std::span<const std::byte> document,
                                                const attestation::VerifyOptions& options);

/// "signed by key id HEX (ecdsa-p256-sha256)" or "unsigned".
std::string describe_signer(attestation::SignatureAlgorithm algorithm, std::span<const std::byte> key_id);

}  // namespace notify::ctl
