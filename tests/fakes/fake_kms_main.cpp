// fake-kms: the test fake KMS as a standalone HTTPS server, for the dev topology (no AWS account needed).
//   fake-kms [--port N] [--region R] [--key-id UUID] [--pcr N=HEX]... [--no-development]
//            [--access-key-id K] [--secret-access-key S] [--session-token T]   (default: AWS_ACCESS_KEY_ID, ...)
//            [--seed S] [--pki-dir DIR] [--url-file F]
//            [--context KEY=VALUE]... [--encrypt PLAINTEXT_FILE=BLOB_FILE]... [--encrypt-only]
// --encrypt writes the base64 CiphertextBlob of the file's bytes (under --key-id, bound to the --context pairs) to
// BLOB_FILE, as `aws kms encrypt --query CiphertextBlob --output text` would. Blobs open only in this process unless
// --seed is given (then the key secrets derive from it and survive a restart). The url file gets three lines: the
// URL, the CA file to trust, the key ARN. Serves until SIGINT/SIGTERM (or exits after encrypting with --encrypt-only).
#include "attestation/attestation_document.hpp"
#include "fake_kms.hpp"
#include "test_pki.hpp"

#include <notify/toolkit/base64.hpp>

#include <charconv>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <span>
#include <sstream>
#include <thread>

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

constexpr const char* kUsage =
    "usage: fake-kms [--port N] [--region R] [--key-id UUID] [--pcr N=HEX]... [--no-development]\n"
    "                [--access-key-id K] [--secret-access-key S] [--session-token T] [--seed S]\n"
    "                [--pki-dir DIR] [--url-file F] [--context KEY=VALUE]... [--encrypt IN=OUT]... [--encrypt-only]\n";

std::pair<std::string, std::string> split_pair(const std::string& flag, const std::string& v) {
  const auto eq = v.find('=');
  if (eq == std::string::npos || eq == 0) {
    std::cerr << "fake-kms: " << flag << " needs A=B, got '" << v << "'\n";
    std::exit(64);
  }
  return {v.substr(0, eq), v.substr(eq + 1)};
}

// Written next to the target and renamed, so a script polling for the file never reads half of it.
bool write_atomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream o(tmp, std::ios::trunc);
    o << text;
    if (!o.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  notify::testing::FakeKms::Options opts;
  opts.principals.clear();
  notify::testing::FakeKms::Principal principal{
      env_or("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
      env_or("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), env_or("AWS_SESSION_TOKEN", ""),
      false};
  std::string key_id(notify::testing::FakeKms::kDefaultKeyId);
  std::map<std::uint32_t, std::vector<std::byte>> pcrs;
  std::map<std::string, std::string> context;
  std::vector<std::pair<std::string, std::string>> encrypts;
  bool encrypt_only = false;
  std::filesystem::path pki_dir = std::filesystem::temp_directory_path() / "fake-kms-pki";
  std::string url_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "fake-kms: " << a << " needs a value\n";
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--port") {
      const std::string v = next();
      unsigned port = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), port);
      if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || port > 65535) {
        std::cerr << "fake-kms: --port needs 0..65535, got '" << v << "'\n";
        return 64;
      }
      opts.port = static_cast<std::uint16_t>(port);
    } else if (a == "--region") {
      opts.region = next();
    } else if (a == "--key-id") {
      key_id = next();
    } else if (a == "--pcr") {
      auto [index, hex] = split_pair(a, next());
      unsigned n = 0;
      auto [p, ec] = std::from_chars(index.data(), index.data() + index.size(), n);
      auto bytes = notify::attestation::from_hex(hex);
      if (ec != std::errc{} || p != index.data() + index.size() || n > 31 || !bytes) {
        std::cerr << "fake-kms: --pcr needs N=HEX with N in 0..31\n";
        return 64;
      }
      pcrs[n] = *bytes;
    } else if (a == "--no-development") {
      opts.allow_development_attestation = false;
    } else if (a == "--access-key-id") {
      principal.access_key_id = next();
    } else if (a == "--secret-access-key") {
      principal.secret_access_key = next();
    } else if (a == "--session-token") {
      principal.session_token = next();
    } else if (a == "--seed") {
      opts.key_seed = next();
    } else if (a == "--pki-dir") {
      pki_dir = next();
    } else if (a == "--url-file") {
      url_file = next();
    } else if (a == "--context") {
      context.insert(split_pair(a, next()));
    } else if (a == "--encrypt") {
      encrypts.push_back(split_pair(a, next()));
    } else if (a == "--encrypt-only") {
      encrypt_only = true;
    } else {
      std::cerr << kUsage;
      return 64;
    }
  }
  if (key_id.size() != 36) {
    std::cerr << "fake-kms: --key-id must be a UUID\n";
    return 64;
  }
  opts.principals.push_back(principal);
  opts.keys = {notify::testing::FakeKms::Key{key_id, true, true, pcrs}};

  std::filesystem::create_directories(pki_dir);
  pki_dir = std::filesystem::absolute(pki_dir).lexically_normal();
  auto pki = notify::testing::make_test_pki(pki_dir);
  opts.cert_file = pki.server_cert;
  opts.key_file = pki.server_key;
  notify::testing::FakeKms fake(opts);

  for (const auto& [in, out] : encrypts) {
    std::ifstream f(in, std::ios::binary);
    if (!f) {
      std::cerr << "fake-kms: cannot read " << in << "\n";
      return 66;
    }
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (text.empty() || text.size() > 4096) {
      std::cerr << "fake-kms: " << in << " must hold 1..4096 bytes (KMS's Encrypt limit)\n";
      return 65;
    }
    const auto blob = fake.encrypt(key_id, std::as_bytes(std::span(text.data(), text.size())), context);
    if (!write_atomically(out, notify::toolkit::base64_encode(blob) + "\n")) {
      std::cerr << "fake-kms: cannot write " << out << "\n";
      return 73;
    }
    std::cout << "fake-kms: CiphertextBlob of " << in << " (" << text.size() << " bytes, " << context.size()
              << " encryption context pairs) written to " << out << std::endl;
  }
  if (encrypt_only) return 0;

  std::cout << "fake-kms listening on " << fake.url() << "\nCA file: " << pki.ca_cert.string()
            << "\nkey: " << fake.key_arn(key_id) << std::endl;
  if (!url_file.empty()) {
    if (!write_atomically(url_file, fake.url() + "\n" + pki.ca_cert.string() + "\n" + fake.key_arn(key_id) + "\n")) {
      std::cerr << "fake-kms: cannot write " << url_file << "\n";
      return 73;
    }
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::cout << "fake-kms: " << fake.requests().size() << " requests served (Decrypt: " << fake.calls("Decrypt")
            << ", Encrypt: " << fake.calls("Encrypt") << ")" << std::endl;
  return 0;
}
