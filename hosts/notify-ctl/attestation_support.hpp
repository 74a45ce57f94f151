#pragma once
// Shared by the attestation commands: reading documents and policies from files, building VerifyOptions from flags,
// printing a verdict.

#include "attestation/verifier.hpp"
#include "ctl_options.hpp"

#include <notify/result.hpp>

#include <ostream>
#include <string>

namespace notify::ctl {

Result<attestation::Bytes> read_document_file(const std::string& path);  // raw CBOR or base64
Result<std::string> read_text_file(const std::string& path);
Result<attestation::VerifyOptions> verify_options_from(const CtlOptions& options, const std::string& pcrs_flag);
void print_verdict(std::ostream& out, const attestation::Verdict& v);

}  // namespace notify::ctl
