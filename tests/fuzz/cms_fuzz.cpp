// libFuzzer target: KMS's CiphertextForRecipient (BER CMS EnvelopedData) parser and opener. Invariants: every input
// ends in parts that satisfy the accepted shape or in a "cms: <field>: <what>" protocol error; nothing reads past the
// input. With the enclaver vector's key (when the shared testdata is there), inputs mutated from that seed keep its
// rid and so also reach the RSA-OAEP unwrap and the AES-CBC padding check.
#include "aws/cms_enveloped.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};

EVP_PKEY* recipient_key() {
  static const std::unique_ptr<EVP_PKEY, PkeyFree> key = [] {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_file(NOTIFY_CMS_FUZZ_KEY, "r"));
    return std::unique_ptr<EVP_PKEY, PkeyFree>(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                                                   : nullptr);
  }();
  return key.get();
}

void check_error(const notify::Error& e) {
  if (e.message.rfind("cms: ", 0) != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace notify::aws;
  std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  const auto parts = parse_ciphertext_for_recipient(input);
  if (parts.ok()) {
    if (parts->recipient_key_id.size() != 32 || parts->iv.size() != 16 || parts->encrypted_key.empty() ||
        parts->ciphertext.empty() || parts->ciphertext.size() % 16 != 0 || size > kMaxCiphertextForRecipientBytes) {
      std::abort();
    }
  } else {
    if (parts.error().code != notify::Errc::protocol_error) std::abort();
    check_error(parts.error());
  }
  if (EVP_PKEY* key = recipient_key()) {
    const auto opened = open_ciphertext_for_recipient(input, key);
    if (!opened.ok()) check_error(opened.error());
    if (opened.ok() && !parts.ok()) std::abort();  // opening implies parsing
  }
  return 0;
}
