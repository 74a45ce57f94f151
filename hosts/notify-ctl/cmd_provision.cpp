// notify-ctl provision: seal a secret to the enclave's attested key and install it there. Runs on the parent
// instance and talks to the enclave over the link; what crosses the parent is an attestation document and ciphertext.
#include "attestation/sealing.hpp"
#include "attestation_support.hpp"
#include "link/link_client.hpp"
#include "tcp_transport.hpp"
#include "vsock_transport.hpp"

#include <openssl/rand.h>

#include <cstdlib>
#include <iostream>

namespace notify::ctl {
namespace {

class StderrLog final : public Log {
 public:
  bool enabled(LogLevel level) const noexcept override { return level >= LogLevel::warning; }
  void write(LogLevel, std::string_view m) noexcept override { std::cerr << "notify-ctl: " << m << "\n"; }
};

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

int provision(const CtlOptions& options) {
  const auto secret_name = options.get("secret");
  const auto from_file = options.get("from-file");
  const bool pcr_policy = options.has("expect-pcrs") || options.has("pcr0") || options.has("pcr1") ||
                          options.has("pcr2") || options.has("pcr8");
  if (!secret_name || !from_file || !(pcr_policy || options.has("allow-development"))) {
    std::cerr << "usage: notify-ctl provision --secret NAME --from-file F --expect-pcrs F [--address A] "
                 "[--transport tcp|vsock]\n       (--expect-pcrs may be omitted only with --allow-development)\n";
    return 64;
  }
  auto secret_text = read_text_file(*from_file);
  if (!secret_text) {
    std::cerr << "notify-ctl: " << secret_text.error().message << "\n";
    return 66;
  }
  Secret secret(*secret_text);
  explicit_bzero(secret_text->data(), secret_text->size());
  std::string_view value = secret.reveal();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.remove_suffix(1);
  if (value.empty()) {
    std::cerr << "notify-ctl: " << *from_file << ": the secret is empty\n";
    return 65;
  }
  auto opts = verify_options_from(options, "expect-pcrs");
  if (!opts) {
    std::cerr << "notify-ctl: " << opts.error().message << "\n";
    return 64;
  }
  attestation::Bytes nonce(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) != 1) {
    std::cerr << "notify-ctl: no randomness for the attestation nonce\n";
    return 70;
  }
  opts->expected_nonce = nonce;

  const std::string transport_name = options.get("transport").value_or("vsock");
  std::shared_ptr<Transport> transport;
  if (transport_name == "tcp") transport = std::make_shared<tcp::TcpTransport>();
  else if (transport_name == "vsock") transport = std::make_shared<vsock::VsockTransport>();
  else {
    std::cerr << "notify-ctl: --transport must be tcp or vsock\n";
    return 64;
  }
  StderrLog log;
  link::ClientOptions co;
  co.address = options.get("address").value_or(env_or("ENCLAVE_CID", "16") + ":" + env_or("ENCLAVE_PORT", "5000"));
  co.node_name = "notify-ctl";
  co.request_timeout = std::chrono::seconds(20);
  co.max_attempts = 1;
  link::LinkClient client(transport, co, log);
  client.start();

  auto reply = client.attest({nonce});
  if (!reply) {
    std::cerr << "notify-ctl: attestation from " << co.address << " failed: " << reply.error().message << "\n";
    return 69;
  }
  auto verdict = attestation::verify_attestation(reply->document, *opts);
  if (!verdict) {
    std::cerr << "notify-ctl: REFUSED to provision: " << verdict.error().message << "\n";
    return 1;
  }
  print_verdict(std::cout, *verdict);
  if (!verdict->document.public_key) {
    std::cerr << "notify-ctl: REFUSED: the attestation document binds no public key\n";
    return 1;
  }
  auto sealed = attestation::seal_secret(value, *verdict->document.public_key);
  if (!sealed) {
    std::cerr << "notify-ctl: " << sealed.error().message << "\n";
    return 1;
  }
  auto st = client.provision({*secret_name, link::ProvisionMode::sealed, std::move(sealed.value())});
  if (!st) {
    std::cerr << "notify-ctl: provisioning '" << *secret_name << "' failed: " << st.message() << "\n";
    return 1;
  }
  std::cout << "provisioned: secret '" << *secret_name << "' sealed to " << verdict->document.module_id
            << (verdict->development ? " (DEVELOPMENT attestation)" : "") << "\n";
  return 0;
}

}  // namespace notify::ctl
