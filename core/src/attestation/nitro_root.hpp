#pragma once
// The AWS Nitro Enclaves root certificate (AWS_NitroEnclaves_Root-G1, CN aws.nitro-enclaves, valid 2019-10-28 to
// 2049-10-28), compiled in and pinned by its SHA-256 fingerprint, as AWS publishes it.

#include <string_view>

namespace notify::attestation {

std::string_view aws_nitro_root_pem();
/// "64:1A:03:…:BB:5B" as printed by `openssl x509 -fingerprint -sha256`.
std::string_view aws_nitro_root_sha256();

}  // namespace notify::attestation
