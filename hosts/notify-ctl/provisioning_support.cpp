#include "provisioning_support.hpp"

#include "attestation_support.hpp"
#include "tcp_transport.hpp"
#include "vsock_transport.hpp"

#include <cstdlib>
#include <cstring>

namespace notify::ctl {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

EnclaveLink::EnclaveLink(std::shared_ptr<Transport> transport, link::ClientOptions options)
    : client(std::move(transport), options, log), address(options.address) {
  client.start();
}

Result<std::unique_ptr<EnclaveLink>> open_enclave_link(const CtlOptions& options) {
  const std::string transport_name = options.get("transport").value_or("vsock");
  std::shared_ptr<Transport> transport;
  if (transport_name == "tcp")
    transport = std::make_shared<tcp::TcpTransport>();
  else if (transport_name == "vsock")
    transport = std::make_shared<vsock::VsockTransport>();
  else
    return Error{Errc::invalid_argument, "--transport must be tcp or vsock"};
  link::ClientOptions co;
  co.address = options.get("address").value_or(env_or("ENCLAVE_CID", "16") + ":" + env_or("ENCLAVE_PORT", "5000"));
  co.node_name = "notify-ctl";
  co.request_timeout = std::chrono::seconds(20);
  co.max_attempts = 1;
  return std::make_unique<EnclaveLink>(std::move(transport), std::move(co));
}

int link_failure_exit_code(const Error& e) {
  switch (e.code) {
    case Errc::timed_out:
    case Errc::unreachable:
    case Errc::closed:
    case Errc::io_error:
    case Errc::resource_exhausted:
      return kExitUnavailable;
    default:
      return kExitRefused;
  }
}

Result<Secret> read_secret_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.error();
  std::string_view value = *text;
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.remove_suffix(1);
  Secret secret(value);
  explicit_bzero(text->data(), text->size());
  if (secret.empty()) return Error{Errc::invalid_argument, path + ": the secret is empty"};
  return secret;
}

Result<attestation::PkeyPtr> read_signing_key(const CtlOptions& options) {
  const auto file = options.get("sign-key");
  if (!file) return attestation::PkeyPtr();
  auto pem = read_text_file(*file);
  if (!pem) return pem.error();
  auto key = attestation::signing_key_from_pem(*pem);
  explicit_bzero(pem->data(), pem->size());
  if (!key) return Error{key.error().code, "--sign-key " + *file + ": " + key.error().message};
  return key;
}

std::optional<attestation::VerifyOptions> sealing_options(const CtlOptions& options, int& exit_code) {
  auto opts = verify_options_from(options, "expect-pcrs");
  if (!opts) {
    std::cerr << "notify-ctl: " << opts.error().message << "\n";
    exit_code = opts.error().code == Errc::not_found ? kExitNoInput : kExitUsage;
    return std::nullopt;
  }
  if (opts->expected_pcrs.empty() && !opts->allow_development) {
    std::cerr << "notify-ctl: a PCR policy is required (--expect-pcrs FILE, or --pcr0 --pcr1 --pcr2 HEX); only "
                 "--allow-development may omit it, for a development document\n";
    exit_code = kExitUsage;
    return std::nullopt;
  }
  // Without --allow-development every document needs the full policy: refuse a partial one before asking anyone.
  if (!opts->allow_development) {
    if (auto st = attestation::check_provisioning_pcr_policy(opts->expected_pcrs); !st) {
      std::cerr << "notify-ctl: REFUSED: " << st.message() << "\n";
      exit_code = kExitRefused;
      return std::nullopt;
    }
  }
  return std::move(opts.value());
}

Result<attestation::Verdict> verify_for_sealing(std::span<const std::byte> document,
                                                const attestation::VerifyOptions& options) {
  auto verdict = attestation::verify_attestation(document, options);
  if (!verdict) return verdict.error();
  // --allow-development waives the PCR policy for a development document only: a Nitro one always needs it.
  if (!(verdict->development && options.allow_development)) {
    if (auto st = attestation::check_provisioning_pcr_policy(options.expected_pcrs); !st) return st.error();
  }
  const auto& d = verdict->document;
  if (!d.nonce || d.nonce->empty()) {
    return Error{Errc::refused,
                 "the document carries no nonce: it is not a provisioning attestation (get one with "
                 "notify-ctl attest --out FILE)"};
  }
  if (!d.public_key) return Error{Errc::refused, "the attestation document binds no public key"};
  return verdict;
}

std::string describe_signer(attestation::SignatureAlgorithm algorithm, std::span<const std::byte> key_id) {
  if (algorithm == attestation::SignatureAlgorithm::none) return "unsigned";
  return "signed by key id " + attestation::to_hex(key_id) + " (" + attestation::signature_algorithm_name(algorithm) +
         ")";
}

}  // namespace notify::ctl
