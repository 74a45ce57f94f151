#pragma once
// A throwaway PKI for TLS tests, generated with OpenSSL at run time: a test CA, a server certificate for
// 127.0.0.1/localhost, one for the wrong host name, and one from a CA nobody trusts.

#include <filesystem>

namespace notify::testing {

struct TestPki {
  std::filesystem::path ca_cert;                          // trust this
  std::filesystem::path server_cert, server_key;          // SAN: IP 127.0.0.1, DNS localhost
  std::filesystem::path wrong_host_cert, wrong_host_key;  // SAN: DNS wrong.example (signed by the test CA)
  std::filesystem::path rogue_ca_cert;
  std::filesystem::path rogue_cert, rogue_key;  // SAN 127.0.0.1 but signed by the rogue CA
};

/// Writes all files into `dir` (which must exist). Throws std::runtime_error on any OpenSSL failure.
TestPki make_test_pki(const std::filesystem::path& dir);

}  // namespace notify::testing
