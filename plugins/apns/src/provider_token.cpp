#include "provider_token.hpp"

#include <notify/toolkit/base64.hpp>

#include <Poco/JSON/Object.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <memory>
#include <sstream>
#include <vector>

namespace notify::apns {
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
struct SigFree {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

std::string base64url(std::span<const std::byte> bytes) {
  std::string s = toolkit::base64_encode(bytes);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

std::string b64url_json(const Poco::JSON::Object& o) {
  std::ostringstream os;
  o.stringify(os);
  const std::string text = os.str();
  return base64url(std::as_bytes(std::span(text)));
}

}  // namespace

Result<std::string> make_provider_token(std::string_view p8_pem, std::string_view key_id, std::string_view team_id,
                                        std::chrono::system_clock::time_point now) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(p8_pem.data(), static_cast<int>(p8_pem.size())));
  std::unique_ptr<EVP_PKEY, PkeyFree> key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                                              : nullptr);
  if (!key) return Error{Errc::invalid_argument, "the APNs key is not a PEM (.p8) private key"};
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC || EVP_PKEY_get_bits(key.get()) != 256) {
    return Error{Errc::invalid_argument, "the APNs key is not a P-256 EC key (ES256 needs one)"};
  }
  Poco::JSON::Object header;
  header.set("alg", "ES256");
  header.set("kid", std::string(key_id));
  Poco::JSON::Object claims;
  claims.set("iss", std::string(team_id));
  claims.set("iat", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  const std::string input = b64url_json(header) + "." + b64url_json(claims);

  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size()) != 1) {
    return Error{Errc::internal, "ES256 signing of the APNs provider token failed"};
  }
  std::vector<unsigned char> der(size);
  if (EVP_DigestSign(ctx.get(), der.data(), &size, data, input.size()) != 1) {
    return Error{Errc::internal, "ES256 signing of the APNs provider token failed"};
  }
  // OpenSSL writes ECDSA signatures as DER; JWS (RFC 7518 §3.4) wants r and s as two 32-byte big-endian numbers.
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(size)));
  if (!sig) return Error{Errc::internal, "ES256 signature could not be decoded"};
  std::array<unsigned char, 64> raw{};
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + 32, 32) != 32) {
    return Error{Errc::internal, "ES256 signature does not fit P-256"};
  }
  return input + "." + base64url(std::as_bytes(std::span(raw)));
}

Result<Secret> ProviderTokens::get(const Secret& p8_pem, const std::string& key_id, const std::string& team_id) {
  std::lock_guard lock(mu_);
  const std::string owner = key_id + " " + team_id;
  const auto now = std::chrono::steady_clock::now();
  if (token_ && made_for_ == owner && now - made_at_ < reuse_for()) return *token_;
  auto token = make_provider_token(p8_pem.reveal(), key_id, team_id, std::chrono::system_clock::now());
  if (!token) return token.error();
  token_ = Secret(*token);
  explicit_bzero(token->data(), token->size());
  made_for_ = owner;
  made_at_ = now;
  return *token_;
}

void ProviderTokens::invalidate() {
  std::lock_guard lock(mu_);
  token_.reset();
}

}  // namespace notify::apns
