#include "webhook_signature.hpp"

#include <notify/toolkit/base64.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <span>

namespace notify::webhook {

Result<Secret> decode_signing_key(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.starts_with(kPrefix)) secret.remove_prefix(kPrefix.size());
  if (secret.empty()) return Error{Errc::invalid_argument, "the webhook secret is empty"};
  auto bytes = toolkit::base64_decode(secret);
  if (!bytes) {
    return Error{Errc::invalid_argument, "the webhook secret is not 'whsec_' followed by standard base64 (" +
                                             std::to_string(secret.size()) + " characters after the prefix)"};
  }
  const std::size_t size = bytes->size();
  Secret key(std::string_view(reinterpret_cast<const char*>(bytes->data()), size));  // NOLINT: bytes as chars
  explicit_bzero(bytes->data(), size);
  if (size < 24 || size > 64) {
    return Error{Errc::invalid_argument,
                 "the webhook secret's key has " + std::to_string(size) + " bytes; Standard Webhooks needs 24 to 64"};
  }
  return key;
}

std::string sign(const Secret& key, std::string_view id, std::int64_t timestamp, std::string_view body) {
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  const auto k = key.reveal();
  HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac.data(), &mac_size);
  return "v1," + toolkit::base64_encode(std::as_bytes(std::span(mac.data(), mac_size)));
}

}  // namespace notify::webhook
