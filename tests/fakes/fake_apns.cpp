#include "fake_apns.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace notify::testing {
namespace {

using Reply = H2TestServer::Reply;

Reply apns_error(int status, const std::string& reason) {
  return Reply{status, {{"content-type", "application/json"}}, R"({"reason":")" + reason + R"("})"};
}

std::string b64url_decode(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4 != 0) s += '=';
  std::string out(s.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  std::size_t size = n < 0 ? 0 : static_cast<std::size_t>(n);
  size -= s.ends_with("==") ? 2 : s.ends_with("=") ? 1 : 0;
  out.resize(size);
  return out;
}

// JWS ES256 signatures are r || s (32 bytes each); OpenSSL verifies DER.
bool verify_es256(const std::string& public_pem, const std::string& input, const std::string& raw) {
  if (raw.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = key != nullptr && der_len > 0 &&
                  EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_len),
                                   reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  OPENSSL_free(der);
  return ok;
}

}  // namespace

FakeApns::FakeApns(const std::filesystem::path& cert_file, const std::filesystem::path& key_file, std::string team_id,
                   std::string key_id, std::string topic)
    : team_id_(std::move(team_id)), key_id_(std::move(key_id)), topic_(std::move(topic)) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) throw std::runtime_error("FakeApns: P-256 key generation failed");
  auto pem = [&](bool priv) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (priv) {
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(bio, key);
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  };
  key_pem_ = pem(true);
  public_pem_ = pem(false);
  EVP_PKEY_free(key);
  H2TestServer::Options o;
  o.cert_file = cert_file;
  o.key_file = key_file;
  o.hold = std::chrono::milliseconds(0);
  o.handler = [this](const H2TestServer::Request& r) { return handle(r); };
  server_ = std::make_unique<H2TestServer>(o);
}

FakeApns::~FakeApns() { server_.reset(); }

void FakeApns::register_devices(const std::vector<std::string>& tokens) {
  std::lock_guard lock(mu_);
  devices_.insert(tokens.begin(), tokens.end());
}

void FakeApns::unregister(const std::string& token) {
  std::lock_guard lock(mu_);
  retired_.insert(token);
}

void FakeApns::inject(Injection injection, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) injections_.push_back(injection);
}

void FakeApns::inject_for(const std::string& device, Injection injection, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) device_injections_[device].push_back(injection);
}

std::vector<std::string> FakeApns::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeApns::expire_provider_tokens() {
  std::lock_guard lock(mu_);
  expired_tokens_.insert(seen_tokens_.begin(), seen_tokens_.end());
}

std::vector<FakeApns::Push> FakeApns::pushes() const {
  std::lock_guard lock(mu_);
  return pushes_;
}

std::size_t FakeApns::provider_tokens_seen() const {
  std::lock_guard lock(mu_);
  return seen_tokens_.size();
}

std::vector<std::string> FakeApns::complaints() const {
  std::lock_guard lock(mu_);
  return complaints_;
}

H2TestServer::Reply FakeApns::handle(const H2TestServer::Request& r) {
  auto header = [&](const std::string& name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
  };
  std::lock_guard lock(mu_);
  auto complain = [&](const std::string& why, int status, const std::string& reason) {
    complaints_.push_back(why);
    return apns_error(status, reason);
  };
  if (r.method != "POST") return complain("method " + r.method, 405, "MethodNotAllowed");
  if (!r.path.starts_with("/3/device/")) return complain("path " + r.path, 404, "BadPath");
  const std::string device = r.path.substr(10);
  // The provider token.
  const std::string auth = header("authorization");
  if (!auth.starts_with("bearer ")) return complain("no bearer token", 403, "MissingProviderToken");
  const std::string jwt = auth.substr(7);
  const auto d1 = jwt.find('.');
  const auto d2 = jwt.rfind('.');
  if (d1 == std::string::npos || d1 == d2) return complain("not a JWT", 403, "InvalidProviderToken");
  try {
    Poco::JSON::Parser p1, p2;
    auto h = p1.parse(b64url_decode(jwt.substr(0, d1))).extract<Poco::JSON::Object::Ptr>();
    auto c = p2.parse(b64url_decode(jwt.substr(d1 + 1, d2 - d1 - 1))).extract<Poco::JSON::Object::Ptr>();
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (h->optValue<std::string>("alg", "") != "ES256" || h->optValue<std::string>("kid", "") != key_id_ ||
        c->optValue<std::string>("iss", "") != team_id_ ||
        std::llabs(now - c->optValue<std::int64_t>("iat", 0)) > 3600) {
      return complain("wrong alg, kid, iss or iat", 403, "InvalidProviderToken");
    }
  } catch (const std::exception&) {
    return complain("JWT parts are not JSON", 403, "InvalidProviderToken");
  }
  if (!verify_es256(public_pem_, jwt.substr(0, d2), b64url_decode(jwt.substr(d2 + 1)))) {
    return complain("signature does not verify", 403, "InvalidProviderToken");
  }
  if (expired_tokens_.count(jwt) != 0) return apns_error(403, "ExpiredProviderToken");
  seen_tokens_.insert(jwt);
  requests_.push_back(device);
  if (auto it = device_injections_.find(device); it != device_injections_.end() && !it->second.empty()) {
    auto inj = it->second.front();
    it->second.pop_front();
    auto reply = apns_error(inj.status, inj.reason);
    for (const auto& [k, v] : inj.headers) reply.headers[k] = v;
    return reply;
  }
  if (!injections_.empty()) {
    auto inj = injections_.front();
    injections_.pop_front();
    auto reply = apns_error(inj.status, inj.reason);
    for (const auto& [k, v] : inj.headers) reply.headers[k] = v;
    return reply;
  }
  if (header("apns-topic") != topic_) return apns_error(400, "BadTopic");
  if (retired_.count(device) != 0) return apns_error(410, "Unregistered");
  if (devices_.count(device) == 0) return apns_error(400, "BadDeviceToken");
  if (r.body.size() > 4096) return apns_error(413, "PayloadTooLarge");
  Push p;
  p.device_token = device;
  p.push_type = header("apns-push-type");
  p.priority = header("apns-priority");
  p.expiration = header("apns-expiration");
  p.collapse_id = header("apns-collapse-id");
  try {
    Poco::JSON::Parser parser;
    auto root = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>();
    auto aps = root->getObject("aps");
    if (!aps) return complain("no aps", 400, "PayloadEmpty");
    if (auto alert = aps->getObject("alert")) {
      p.title = alert->optValue<std::string>("title", "");
      p.body = alert->optValue<std::string>("body", "");
    }
    for (const auto& [k, v] : *root) {
      if (k != "aps") p.custom[k] = v.toString();
    }
  } catch (const std::exception&) {
    return complain("payload is not JSON", 400, "BadPayload");
  }
  p.apns_id = header("apns-id");
  if (p.apns_id.empty()) {
    char id[37];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", next_id_++);
    p.apns_id = id;
  }
  pushes_.push_back(p);
  return Reply{200, {{"apns-id", p.apns_id}}, ""};
}

}  // namespace notify::testing
