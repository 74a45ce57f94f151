// fake-braze: the test fake as a standalone server, for the README's demo without a Braze account.
//   fake-braze [--port N] [--tls|--http] [--api-key K] [--pki-dir DIR] [--url-file F]   (TLS is the default)
// Prints its URL and the CA file to trust, then serves until SIGINT/SIGTERM.
#include "fake_braze.hpp"
#include "test_pki.hpp"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  notify::testing::FakeBraze::Options opts;
  std::filesystem::path pki_dir = std::filesystem::temp_directory_path() / "fake-braze-pki";
  std::string url_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "fake-braze: " << a << " needs a value\n";
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--api-key")
      opts.api_key = next();
    else if (a == "--http")
      opts.tls = false;
    else if (a == "--tls")
      opts.tls = true;
    else if (a == "--port") {
      const std::string v = next();
      char* end = nullptr;
      const unsigned long port = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || port > 65535) {
        std::cerr << "fake-braze: --port needs 0..65535, got '" << v << "'\n";
        return 64;
      }
      opts.port = static_cast<std::uint16_t>(port);
    } else if (a == "--pki-dir")
      pki_dir = next();
    else if (a == "--url-file")
      url_file = next();
    else {
      std::cerr << "usage: fake-braze [--port N] [--tls|--http] [--api-key K] [--pki-dir DIR] [--url-file F]\n";
      return 64;
    }
  }
  std::filesystem::create_directories(pki_dir);
  auto pki = notify::testing::make_test_pki(pki_dir);
  opts.cert_file = pki.server_cert;
  opts.key_file = pki.server_key;
  notify::testing::FakeBraze fake(opts);
  std::cout << "fake-braze listening on " << fake.url() << "\nCA file: " << pki.ca_cert.string() << std::endl;
  if (!url_file.empty()) std::ofstream(url_file) << fake.url() << "\n" << pki.ca_cert.string() << "\n";
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::cout << "fake-braze: " << fake.requests().size() << " requests served" << std::endl;
  return 0;
}
