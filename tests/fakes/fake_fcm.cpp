#include "fake_fcm.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace notify::testing {
namespace {

using Reply = HttpsTestServer::Reply;

std::string json(const Poco::JSON::Object& o) {
  std::ostringstream os;
  o.stringify(os);
  return os.str();
}

Reply fcm_error(int status, const std::string& google_status, const std::string& error_code, const std::string& msg) {
  Poco::JSON::Object error;
  error.set("code", status);
  error.set("message", msg);
  error.set("status", google_status);
  if (!error_code.empty()) {
    Poco::JSON::Object detail;
    detail.set("@type", "type.googleapis.com/google.firebase.fcm.v1.FcmError");
    detail.set("errorCode", error_code);
    Poco::JSON::Array details;
    details.add(detail);
    error.set("details", details);
  }
  Poco::JSON::Object root;
  root.set("error", error);
  return Reply{status, {{"Content-Type", "application/json"}}, json(root), {}, false};
}

// base64url (no padding) -> bytes, via OpenSSL's block decoder.
std::string b64url_decode(std::string s) {
  for (char& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0) s += '=';
  std::string out(s.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return {};
  std::size_t size = static_cast<std::size_t>(n);
  if (s.ends_with("=="))
    size -= 2;
  else if (s.ends_with("="))
    size -= 1;
  out.resize(size);
  return out;
}

bool verify_rs256(const std::string& public_pem, const std::string& input, const std::string& signature) {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> out;
  std::istringstream in(body);
  for (std::string pair; std::getline(in, pair, '&');) {
    const auto eq = pair.find('=');
    std::string k, v;
    Poco::URI::decode(pair.substr(0, eq), k);
    if (eq != std::string::npos) Poco::URI::decode(pair.substr(eq + 1), v, true);
    out[k] = v;
  }
  return out;
}

}  // namespace

FakeFcm::FakeFcm(const std::filesystem::path& cert_file, const std::filesystem::path& key_file, std::string project_id)
    : project_id_(std::move(project_id)) {
  server_ = std::make_unique<HttpsTestServer>(cert_file, key_file,
                                              [this](const HttpsTestServer::Request& r) { return handle(r); });
}

FakeFcm::~FakeFcm() { server_.reset(); }

std::string FakeFcm::make_service_account(const std::string& client_email) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (key == nullptr) throw std::runtime_error("FakeFcm: RSA key generation failed");
  auto pem = [&](bool priv) {
    BIO* bio = BIO_new(BIO_s_mem());
    const int ok = priv ? PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr)
                        : PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out = ok == 1 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
    BIO_free(bio);
    return out;
  };
  const std::string private_pem = pem(true);
  const std::string public_pem = pem(false);
  EVP_PKEY_free(key);
  {
    std::lock_guard lock(mu_);
    public_keys_[client_email] = public_pem;
  }
  Poco::JSON::Object sa;
  sa.set("type", "service_account");
  sa.set("project_id", project_id_);
  sa.set("private_key_id", "kid-" + std::to_string(next_));
  sa.set("private_key", private_pem);
  sa.set("client_email", client_email);
  sa.set("client_id", "1234567890");
  sa.set("token_uri", token_uri());
  return json(sa);
}

void FakeFcm::register_tokens(const std::vector<std::string>& tokens) {
  std::lock_guard lock(mu_);
  registered_.insert(tokens.begin(), tokens.end());
}

void FakeFcm::inject(Injection injection, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) injections_.push_back(injection);
}

void FakeFcm::revoke_access_tokens() {
  std::lock_guard lock(mu_);
  access_tokens_.clear();
}

void FakeFcm::set_token_lifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(mu_);
  token_lifetime_ = lifetime;
}

std::vector<FakeFcm::Sent> FakeFcm::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

int FakeFcm::token_exchanges() const {
  std::lock_guard lock(mu_);
  return exchanges_;
}

std::vector<std::string> FakeFcm::complaints() const {
  std::lock_guard lock(mu_);
  return complaints_;
}

Reply FakeFcm::handle(const HttpsTestServer::Request& r) {
  if (r.method == "POST" && r.path == "/token") return token(r);
  if (r.method == "POST" && r.path == "/v1/projects/" + project_id_ + "/messages:send") return send(r);
  return fcm_error(404, "NOT_FOUND", "", "no such resource: " + r.path);
}

Reply FakeFcm::token(const HttpsTestServer::Request& r) {
  auto refuse = [&](const std::string& why) {
    std::lock_guard lock(mu_);
    complaints_.push_back("token: " + why);
    Poco::JSON::Object o;
    o.set("error", "invalid_grant");
    o.set("error_description", why);
    return Reply{400, {{"Content-Type", "application/json"}}, json(o), {}, false};
  };
  auto form = parse_form(r.body);
  if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer") return refuse("wrong grant_type");
  const std::string& jwt = form["assertion"];
  const auto dot1 = jwt.find('.');
  const auto dot2 = jwt.find('.', dot1 == std::string::npos ? 0 : dot1 + 1);
  if (dot1 == std::string::npos || dot2 == std::string::npos) return refuse("assertion is not a JWT");
  Poco::JSON::Object::Ptr header, claims;
  try {
    Poco::JSON::Parser p1, p2;
    header = p1.parse(b64url_decode(jwt.substr(0, dot1))).extract<Poco::JSON::Object::Ptr>();
    claims = p2.parse(b64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1))).extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    return refuse("assertion header or claims are not JSON");
  }
  if (header->optValue<std::string>("alg", "") != "RS256") return refuse("alg is not RS256");
  const auto iss = claims->optValue<std::string>("iss", "");
  std::string public_pem;
  {
    std::lock_guard lock(mu_);
    if (auto it = public_keys_.find(iss); it != public_keys_.end()) public_pem = it->second;
  }
  if (public_pem.empty()) return refuse("unknown iss " + iss);
  if (!verify_rs256(public_pem, jwt.substr(0, dot2), b64url_decode(jwt.substr(dot2 + 1)))) {
    return refuse("signature does not verify");
  }
  if (claims->optValue<std::string>("scope", "") != "https://www.googleapis.com/auth/firebase.messaging") {
    return refuse("wrong scope");
  }
  if (claims->optValue<std::string>("aud", "") != token_uri()) return refuse("aud is not the token_uri");
  const auto iat = claims->optValue<std::int64_t>("iat", 0);
  const auto exp = claims->optValue<std::int64_t>("exp", 0);
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (std::llabs(now - iat) > 300) return refuse("iat is not now");
  if (exp <= iat || exp - iat > 3600) return refuse("exp is not within an hour of iat");
  std::lock_guard lock(mu_);
  ++exchanges_;
  const std::string access = "ya29.fake-" + std::to_string(next_++);
  access_tokens_.insert(access);
  Poco::JSON::Object o;
  o.set("access_token", access);
  o.set("expires_in", static_cast<std::int64_t>(token_lifetime_.count()));
  o.set("token_type", "Bearer");
  return Reply{200, {{"Content-Type", "application/json"}}, json(o), {}, false};
}

Reply FakeFcm::send(const HttpsTestServer::Request& r) {
  auto complain = [&](const std::string& why) {
    std::lock_guard lock(mu_);
    complaints_.push_back("send: " + why);
  };
  {
    const auto auth = r.headers.count("authorization") != 0 ? r.headers.at("authorization") : std::string();
    std::lock_guard lock(mu_);
    if (!auth.starts_with("Bearer ") || access_tokens_.count(auth.substr(7)) == 0) {
      return fcm_error(401, "UNAUTHENTICATED", "", "Request had invalid authentication credentials.");
    }
    if (!injections_.empty()) {
      auto inj = injections_.front();
      injections_.pop_front();
      auto reply =
          fcm_error(inj.status, inj.status >= 500 ? "UNAVAILABLE" : "INVALID_ARGUMENT", inj.error_code, "injected");
      for (const auto& [k, v] : inj.headers) reply.headers[k] = v;
      return reply;
    }
  }
  if (r.body.size() > 4096) {
    complain("message over 4096 bytes");
    return fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Message is too big");
  }
  Sent s;
  try {
    Poco::JSON::Parser parser;
    auto root = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>();
    auto m = root->getObject("message");
    if (!m) throw std::invalid_argument("no message");
    int targets = 0;
    for (const char* kind : {"token", "topic", "condition"}) {
      if (m->has(kind)) {
        ++targets;
        s.target_kind = kind;
        s.target = m->getValue<std::string>(kind);
      }
    }
    if (targets != 1) throw std::invalid_argument("message needs exactly one of token, topic, condition");
    if (auto n = m->getObject("notification")) {
      s.title = n->optValue<std::string>("title", "");
      s.body = n->optValue<std::string>("body", "");
    }
    if (auto d = m->getObject("data")) {
      for (const auto& [k, v] : *d) {
        if (!v.isString()) throw std::invalid_argument("data values must be strings");
        s.data[k] = v.extract<std::string>();
      }
    }
  } catch (const std::exception& e) {
    complain(e.what());
    return fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", e.what());
  }
  std::lock_guard lock(mu_);
  if (s.target_kind == "token" && registered_.count(s.target) == 0) {
    return fcm_error(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.");
  }
  s.name = "projects/" + project_id_ + "/messages/0:" + std::to_string(next_++);
  sent_.push_back(s);
  Poco::JSON::Object o;
  o.set("name", s.name);
  return Reply{200, {{"Content-Type", "application/json"}}, json(o), {}, false};
}

}  // namespace notify::testing
