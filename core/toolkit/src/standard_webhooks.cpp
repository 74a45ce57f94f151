#include <notify/toolkit/base64.hpp>
#include <notify/toolkit/standard_webhooks.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace notify::toolkit {

Result<std::vector<std::byte>> parse_webhook_secret(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.substr(0, kPrefix.size()) != kPrefix) {
    return Error{Errc::invalid_argument, "must be whsec_<base64> (Standard Webhooks)"};
  }
  auto key = base64_decode(secret.substr(kPrefix.size()));
  if (!key) return Error{Errc::invalid_argument, "the part after whsec_ is not valid base64"};
  // The spec's own secrets are 24 to 64 bytes; fewer than 16 bytes is too weak a MAC key to accept.
  if (key->size() < 16) return Error{Errc::invalid_argument, "the key after whsec_ is shorter than 16 bytes"};
  return std::move(*key);
}

std::string sign_webhook(std::span<const std::byte> key, std::string_view id, std::int64_t timestamp,
                         std::string_view body) {
  std::string signed_content;
  const auto ts = std::to_string(timestamp);
  signed_content.reserve(id.size() + ts.size() + body.size() + 2);
  signed_content.append(id).append(".").append(ts).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(), mac,
           &mac_len) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");  // only on allocation failure inside OpenSSL
  }
  return "v1," + base64_encode(std::as_bytes(std::span<const unsigned char>(mac, mac_len)));
}

}  // namespace notify::toolkit
