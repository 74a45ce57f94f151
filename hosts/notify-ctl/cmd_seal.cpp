// notify-ctl seal: on a trusted workstation, offline. Verifies an attestation document the parent fetched with
// `notify-ctl attest`, then seals a secret to the enclave's attested key, bound to the secret's name and the
// document's single-use provisioning nonce, optionally signed with the operator's key. The plaintext exists only on
// this machine and inside the enclave; the parent carries the blob back with `notify-ctl provision --blob`.
#include "attestation/sealing.hpp"
#include "attestation_support.hpp"
#include "provisioning_support.hpp"

#include <fstream>
#include <iostream>

namespace notify::ctl {

int seal(const CtlOptions& options) {
  const auto doc_file = options.get("doc");
  const auto secret_name = options.get("secret");
  const auto from_file = options.get("from-file");
  const auto out_file = options.get("out");
  if (!doc_file || !secret_name || !from_file || !out_file) {
    std::cerr << "usage: notify-ctl seal --doc F --expect-pcrs F | --pcr0 HEX --pcr1 HEX --pcr2 HEX --secret NAME "
                 "--from-file F --out F\n                     [--sign-key PEM] [--allow-debug] [--allow-development]\n";
    return kExitUsage;
  }
  int code = 0;
  auto opts = sealing_options(options, code);
  if (!opts) return code;
  auto document = read_document_file(*doc_file);
  if (!document) {
    std::cerr << "notify-ctl: " << document.error().message << "\n";
    return document.error().code == Errc::not_found ? kExitNoInput : kExitDataError;
  }
  auto secret = read_secret_file(*from_file);
  if (!secret) {
    std::cerr << "notify-ctl: " << secret.error().message << "\n";
    return secret.error().code == Errc::not_found ? kExitNoInput : kExitDataError;
  }
  auto signer = read_signing_key(options);
  if (!signer) {
    std::cerr << "notify-ctl: " << signer.error().message << "\n";
    return signer.error().code == Errc::not_found ? kExitNoInput : kExitDataError;
  }

  auto verdict = verify_for_sealing(*document, *opts);
  if (!verdict) {
    std::cerr << "notify-ctl: REFUSED to seal to " << *doc_file << ": " << verdict.error().message << "\n";
    return kExitRefused;
  }
  print_verdict(std::cout, *verdict);
  const auto& d = verdict->document;
  auto blob = attestation::seal_secret(secret->reveal(), *secret_name, *d.nonce, *d.public_key, signer->get());
  if (!blob) {
    std::cerr << "notify-ctl: " << blob.error().message << "\n";
    return blob.error().code == Errc::invalid_argument ? kExitDataError : kExitSoftware;
  }
  std::ofstream out(*out_file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(blob->data()), static_cast<std::streamsize>(blob->size()));
  out.close();
  if (!out) {
    std::cerr << "notify-ctl: " << *out_file << ": cannot write\n";
    return kExitCannotCreate;
  }
  auto header = attestation::inspect_sealed_secret(*blob);
  std::cout << "sealed: secret '" << *secret_name << "' to " << d.module_id
            << (verdict->development ? " (DEVELOPMENT attestation)" : "") << ", nonce " << attestation::to_hex(*d.nonce)
            << ", " << (header ? describe_signer(header->algorithm, header->signer_key_id) : "?") << "\n"
            << "wrote " << *out_file << " (" << blob->size() << " bytes); on the parent: notify-ctl provision --blob "
            << *out_file << "\n";
  return 0;
}

}  // namespace notify::ctl
