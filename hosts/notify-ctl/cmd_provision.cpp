// notify-ctl attest / provision: the parent's half of sealed provisioning. They talk to the enclave over the link; what
// crosses the parent is an attestation document and ciphertext.
//   attest --out F            a provisioning attestation (the enclave's fresh single-use nonce), written as raw CBOR
//   provision --blob F        installs a blob sealed on a workstation with `notify-ctl seal`
//   provision --secret NAME --from-file F --expect-pcrs F
//                             DEV ONLY: attest, verify, seal and provision in one go, reading the plaintext here
#include "attestation/sealing.hpp"
#include "attestation_support.hpp"
#include "provisioning_support.hpp"

#include <fstream>
#include <iostream>

namespace notify::ctl {
namespace {

// Asks the enclave for a provisioning attestation; prints the reason and sets `code` on failure.
std::optional<link::AttestReply> provisioning_attestation(EnclaveLink& enclave, int& code) {
  link::AttestRequest request;
  request.purpose = link::AttestPurpose::provisioning;
  auto reply = enclave.client.attest(request);
  if (!reply) {
    std::cerr << "notify-ctl: attestation from " << enclave.address << " failed: " << reply.error().message << "\n";
    code = link_failure_exit_code(reply.error());
    return std::nullopt;
  }
  return std::move(reply.value());
}

int send_blob(EnclaveLink& enclave, const std::string& secret_name, attestation::Bytes blob) {
  auto st = enclave.client.provision({secret_name, link::ProvisionMode::sealed, std::move(blob)});
  if (!st) {
    std::cerr << "notify-ctl: provisioning '" << secret_name << "' failed: " << st.message() << "\n";
    return link_failure_exit_code(st.error());
  }
  return 0;
}

int provision_blob(const CtlOptions& options) {
  const auto blob_file = options.get("blob");
  auto raw = read_text_file(*blob_file);
  if (!raw) {
    std::cerr << "notify-ctl: " << raw.error().message << "\n";
    return kExitNoInput;
  }
  const auto* first = reinterpret_cast<const std::byte*>(raw->data());
  attestation::Bytes blob(first, first + raw->size());
  auto header = attestation::inspect_sealed_secret(blob);
  if (!header) {
    std::cerr << "notify-ctl: " << *blob_file << ": " << header.error().message << "\n";
    return kExitDataError;
  }
  if (auto expected = options.get("secret"); expected && *expected != header->name) {
    std::cerr << "notify-ctl: REFUSED: " << *blob_file << " is sealed for secret '" << header->name << "', not '"
              << *expected << "'\n";
    return kExitRefused;
  }
  auto enclave = open_enclave_link(options);
  if (!enclave) {
    std::cerr << "notify-ctl: " << enclave.error().message << "\n";
    return kExitUsage;
  }
  if (int code = send_blob(**enclave, header->name, std::move(blob)); code != 0) return code;
  std::cout << "provisioned: secret '" << header->name << "' from a sealed blob ("
            << describe_signer(header->algorithm, header->signer_key_id) << ")\n";
  return 0;
}

// The one-shot flow of earlier releases, kept for development: the plaintext is read on the parent.
int provision_one_shot(const CtlOptions& options) {
  std::cerr << "DEV ONLY: the plaintext is read on this machine; in production use KMS (secrets.kms) or "
               "attest/seal/provision --blob\n";
  const auto secret_name = options.get("secret");
  const auto from_file = options.get("from-file");
  int code = 0;
  auto opts = sealing_options(options, code);
  if (!opts) return code;
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
  auto enclave = open_enclave_link(options);
  if (!enclave) {
    std::cerr << "notify-ctl: " << enclave.error().message << "\n";
    return kExitUsage;
  }
  auto reply = provisioning_attestation(**enclave, code);
  if (!reply) return code;
  auto verdict = verify_for_sealing(reply->document, *opts);
  if (!verdict) {
    std::cerr << "notify-ctl: REFUSED to provision: " << verdict.error().message << "\n";
    return kExitRefused;
  }
  print_verdict(std::cout, *verdict);
  const auto& d = verdict->document;
  auto sealed = attestation::seal_secret(secret->reveal(), *secret_name, *d.nonce, *d.public_key, signer->get());
  if (!sealed) {
    std::cerr << "notify-ctl: " << sealed.error().message << "\n";
    return sealed.error().code == Errc::invalid_argument ? kExitDataError : kExitSoftware;
  }
  if (int c = send_blob(**enclave, *secret_name, std::move(sealed.value())); c != 0) return c;
  std::cout << "provisioned: secret '" << *secret_name << "' sealed to " << d.module_id
            << (verdict->development ? " (DEVELOPMENT attestation)" : "") << "\n";
  return 0;
}

}  // namespace

int attest(const CtlOptions& options) {
  const auto out_file = options.get("out");
  if (!out_file) {
    std::cerr << "usage: notify-ctl attest --out FILE [--address A] [--transport tcp|vsock]\n";
    return kExitUsage;
  }
  auto enclave = open_enclave_link(options);
  if (!enclave) {
    std::cerr << "notify-ctl: " << enclave.error().message << "\n";
    return kExitUsage;
  }
  int code = 0;
  auto reply = provisioning_attestation(**enclave, code);
  if (!reply) return code;
  // Decoded only to show what was received; verification happens where the secret is sealed (notify-ctl seal).
  auto cose = attestation::decode_cose_sign1(reply->document);
  auto doc = cose ? attestation::decode_attestation_document(cose->payload)
                  : Result<attestation::AttestationDocument>(cose.error());
  if (!doc) {
    std::cerr << "notify-ctl: the enclave's answer is not an attestation document: " << doc.error().message << "\n";
    return kExitDataError;
  }
  if (!doc->nonce || doc->nonce->empty()) {
    std::cerr << "notify-ctl: the enclave's document carries no provisioning nonce (an older enclave build?)\n";
    return kExitDataError;
  }
  std::ofstream out(*out_file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(reply->document.data()),
            static_cast<std::streamsize>(reply->document.size()));
  out.close();
  if (!out) {
    std::cerr << "notify-ctl: " << *out_file << ": cannot write\n";
    return kExitCannotCreate;
  }
  std::cout << "attestation document: " << *out_file << " (" << reply->document.size() << " bytes"
            << (reply->development ? ", DEVELOPMENT attestation - not AWS Nitro" : "") << ")\n"
            << "  module_id: " << doc->module_id << "\n"
            << "  nonce:     " << attestation::to_hex(*doc->nonce) << " (single use, valid for 1 hour)\n"
            << "not verified here: verify and seal on a trusted workstation with\n"
            << "  notify-ctl seal --doc " << *out_file
            << " --expect-pcrs measurements.json --secret NAME --from-file F --out BLOB\n";
  return 0;
}

int provision(const CtlOptions& options) {
  if (options.has("blob")) {
    if (options.has("from-file")) {
      std::cerr << "notify-ctl: provision takes --blob or --from-file, not both\n";
      return kExitUsage;
    }
    return provision_blob(options);
  }
  if (!options.has("secret") || !options.has("from-file")) {
    std::cerr
        << "usage: notify-ctl provision --blob F [--secret NAME] [--address A] [--transport tcp|vsock]\n"
           "       notify-ctl provision --secret NAME --from-file F --expect-pcrs F [--sign-key PEM]   (DEV ONLY)\n";
    return kExitUsage;
  }
  return provision_one_shot(options);
}

}  // namespace notify::ctl
