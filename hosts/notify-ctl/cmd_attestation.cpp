// notify-ctl attestation verify FILE: verify one attestation document and print the verdict.
#include "attestation_support.hpp"

#include <iostream>

namespace notify::ctl {

int attestation_verify(const CtlOptions& options, const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::cerr << "usage: notify-ctl attestation verify FILE [--pcrs F] [--pcr0|1|2|8 HEX] [--nonce HEX] [--at TIME] "
                 "[--allow-debug] [--allow-development]\n";
    return 64;
  }
  auto doc = read_document_file(args[0]);
  if (!doc) {
    std::cerr << "notify-ctl: " << doc.error().message << "\n";
    return 66;
  }
  auto opts = verify_options_from(options, "pcrs");
  if (!opts) {
    std::cerr << "notify-ctl: " << opts.error().message << "\n";
    return 64;
  }
  auto verdict = attestation::verify_attestation(*doc, *opts);
  if (!verdict) {
    std::cout << "REJECTED " << args[0] << ": " << verdict.error().message << "\n";
    return 1;
  }
  print_verdict(std::cout, *verdict);
  return 0;
}

}  // namespace notify::ctl
