#include "jwt.hpp"

#include <notify/toolkit/base64.hpp>

#include <Poco/JSON/Object.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <sstream>
#include <vector>

namespace notify::fcm {
namespace {

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

std::string b64url_text(const std::string& text) { return base64url(std::as_bytes(std::span(text))); }

std::string json_text(const Poco::JSON::Object& o) {
  std::ostringstream os;
  o.stringify(os);
  return os.str();
}

}  // namespace

std::string base64url(std::span<const std::byte> bytes) {
  std::string s = toolkit::base64_encode(bytes);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

Result<std::string> make_assertion(const ServiceAccount& account, std::chrono::system_clock::time_point now,
                                   std::chrono::seconds lifetime) {
  const auto pem = account.private_key.reveal();
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<EVP_PKEY, PkeyFree> key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                                              : nullptr);
  if (!key) return Error{Errc::invalid_argument, "the service account's \"private_key\" is not a PEM private key"};
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return Error{Errc::invalid_argument, "the service account's \"private_key\" is not an RSA key (RS256 needs one)"};
  }
  Poco::JSON::Object header;
  header.set("alg", "RS256");
  header.set("typ", "JWT");
  if (!account.private_key_id.empty()) header.set("kid", account.private_key_id);
  const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  Poco::JSON::Object claims;
  claims.set("iss", account.client_email);
  claims.set("scope", kMessagingScope);
  claims.set("aud", account.token_uri);
  claims.set("iat", iat);
  claims.set("exp", iat + std::min<std::int64_t>(lifetime.count(), 3600));
  const std::string signing_input = b64url_text(json_text(header)) + "." + b64url_text(json_text(claims));

  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return Error{Errc::internal, "RS256 signing of the OAuth assertion failed"};
  }
  std::vector<unsigned char> signature(size);
  if (EVP_DigestSign(ctx.get(), signature.data(), &size, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return Error{Errc::internal, "RS256 signing of the OAuth assertion failed"};
  }
  signature.resize(size);
  return signing_input + "." + base64url(std::as_bytes(std::span(signature)));
}

}  // namespace notify::fcm
