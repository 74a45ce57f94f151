#include "fake_kms.hpp"

#include "attestation/verifier.hpp"
#include "aws/sigv4.hpp"
#include "cms_builder.hpp"

#include <notify/toolkit/base64.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/String.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace notify::testing {
namespace {

using Poco::JSON::Object;

constexpr std::size_t kMaxRequestBytes = 64 * 1024;
constexpr std::size_t kMaxPlaintextBytes = 4096;  // KMS's Encrypt limit
constexpr std::size_t kMaxBlobBytes = 6144;       // KMS's CiphertextBlob limit
constexpr std::string_view kMagic = "FKM1";       // the fake's blob format, version 1
constexpr std::size_t kKeyIdBytes = 36;
constexpr std::size_t kIvBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr const char* kJson11 = "application/x-amz-json-1.1";

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(FakeKms& fake) : fake_(fake) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
    fake_.handle(req, resp);
  }

 private:
  FakeKms& fake_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(FakeKms& fake) : fake_(fake) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(fake_);  // NOLINT: Poco takes ownership
  }

 private:
  FakeKms& fake_;
};

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    throw std::runtime_error("fake kms: RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string request_id() {
  const std::string h = random_hex(16);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

// The associated data of a blob: magic, key id, and the encryption context in a canonical (sorted, length-prefixed)
// form, so that any difference in the context — a key, a value, an extra pair — fails the tag.
std::string associated_data(std::string_view key_id, const std::map<std::string, std::string>& context) {
  std::string aad(kMagic);
  aad += key_id;
  auto put = [&](const std::string& s) {
    const auto n = static_cast<std::uint32_t>(s.size());
    for (int shift = 24; shift >= 0; shift -= 8) aad += static_cast<char>((n >> shift) & 0xff);
    aad += s;
  };
  for (const auto& [k, v] : context) {
    put(k);
    put(v);
  }
  return aad;
}

// "20150830T123600Z" for messages.
std::string amz(std::chrono::system_clock::time_point t) { return notify::aws::amz_date(t); }

struct Parsed {
  Object::Ptr doc;
  std::string problem;  // SerializationException text when not empty
};

Parsed parse_object(const std::string& body) {
  try {
    auto v = Poco::JSON::Parser().parse(body);
    if (v.type() != typeid(Object::Ptr)) return {nullptr, "Start of list found where not expected"};
    return {v.extract<Object::Ptr>(), {}};
  } catch (const Poco::Exception&) {
    return {nullptr, "Unexpected character found while parsing the request body"};
  }
}

// EncryptionContext: a JSON object of strings, or absent.
std::optional<std::map<std::string, std::string>> context_of(const Object& doc) {
  std::map<std::string, std::string> out;
  if (!doc.has("EncryptionContext") || doc.get("EncryptionContext").isEmpty()) return out;
  auto ctx = doc.getObject("EncryptionContext");
  if (!ctx) return std::nullopt;
  for (const auto& [k, v] : *ctx) {
    if (!v.isString()) return std::nullopt;
    out[k] = v.extract<std::string>();
  }
  return out;
}

std::optional<std::string> string_field(const Object& doc, const char* key) {
  if (!doc.has(key) || !doc.get(key).isString()) return std::nullopt;
  return doc.get(key).extract<std::string>();
}

}  // namespace

struct FakeKms::Answer {
  int status = 200;
  std::string body;
  std::string error_type;
};

namespace {

FakeKms::Answer aws_error(int status, const std::string& type, const std::string& message, bool with_message = true) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("__type", type);
  if (with_message) o.set("message", message);
  std::ostringstream os;
  o.stringify(os);
  return {status, os.str(), type};
}

FakeKms::Answer access_denied(const std::string& caller, const std::string& action, const std::string& arn) {
  // KMS does not say which condition failed; neither does the fake.
  return aws_error(400, "AccessDeniedException",
                   "User: " + caller + " is not authorized to perform: " + action + " on resource: " + arn +
                       " because no resource-based policy allows the " + action + " action");
}

FakeKms::Answer validation(const std::string& message) { return aws_error(400, "ValidationException", message); }

FakeKms::Answer invalid_signature(const std::string& message) {
  return aws_error(400, "InvalidSignatureException", message);
}

}  // namespace

FakeKms::FakeKms(Options options) : options_(std::move(options)) {
  for (const auto& k : options_.keys) {
    KeyState state;
    state.key = k;
    state.secret.resize(32);
    if (options_.key_seed.empty()) {
      if (RAND_bytes(state.secret.data(), 32) != 1) throw std::runtime_error("fake kms: RAND_bytes failed");
    } else {
      unsigned int len = 32;
      if (HMAC(EVP_sha256(), options_.key_seed.data(), static_cast<int>(options_.key_seed.size()),
               reinterpret_cast<const unsigned char*>(k.id.data()), k.id.size(), state.secret.data(),
               &len) == nullptr) {
        throw std::runtime_error("fake kms: HMAC failed");
      }
    }
    if (k.id.size() != kKeyIdBytes) throw std::invalid_argument("fake kms: key ids must be UUIDs: " + k.id);
    keys_.push_back(std::move(state));
  }

  auto params = new Poco::Net::HTTPServerParams();  // NOLINT: Poco reference-counts it
  params->setMaxThreads(options_.threads);
  params->setMaxQueued(64);
  params->setKeepAlive(true);
  Poco::Net::Context::Params cp;
  cp.privateKeyFile = options_.key_file.string();
  cp.certificateFile = options_.cert_file.string();
  cp.verificationMode = Poco::Net::Context::VERIFY_NONE;
  cp.loadDefaultCAs = false;
  Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::SERVER_USE, cp);  // NOLINT
  Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", options_.port), 64, ctx);
  port_ = socket.address().port();
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);  // NOLINT
  server_->start();
}

FakeKms::~FakeKms() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stall_cv_.notify_all();
  server_->stopAll(true);
  // stopAll does not wait for handlers already running; they use this object, so wait for them here.
  {
    std::unique_lock lock(mu_);
    idle_cv_.wait(lock, [this] { return active_handlers_ == 0; });
  }
  for (auto& k : keys_) OPENSSL_cleanse(k.secret.data(), k.secret.size());
}

std::string FakeKms::url() const { return "https://127.0.0.1:" + std::to_string(port_); }

std::string FakeKms::key_arn(std::string_view key_id) const {
  return "arn:aws:kms:" + options_.region + ":" + std::string(kAccount) + ":key/" + std::string(key_id);
}

const FakeKms::KeyState* FakeKms::find_key(std::string_view id) const {
  std::string_view bare = id;
  const std::string prefix = "arn:aws:kms:" + options_.region + ":" + std::string(kAccount) + ":key/";
  if (id.starts_with("arn:")) {
    if (!id.starts_with(prefix)) return nullptr;
    bare = id.substr(prefix.size());
  }
  for (const auto& k : keys_) {
    if (k.key.id == bare) return &k;
  }
  return nullptr;
}

std::vector<std::byte> FakeKms::encrypt(std::string_view key_id, std::span<const std::byte> plaintext,
                                        const std::map<std::string, std::string>& encryption_context) const {
  std::vector<unsigned char> secret;
  std::string id;
  {
    std::lock_guard lock(mu_);
    const KeyState* k = find_key(key_id);
    if (k == nullptr) throw std::invalid_argument("fake kms: no key " + std::string(key_id));
    secret = k->secret;
    id = k->key.id;
  }
  const std::string aad = associated_data(id, encryption_context);
  std::vector<unsigned char> iv(kIvBytes);
  if (RAND_bytes(iv.data(), static_cast<int>(iv.size())) != 1) throw std::runtime_error("fake kms: RAND_bytes failed");
  std::vector<unsigned char> ct(plaintext.size() + 16);
  unsigned char tag[kTagBytes];
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0, total = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kIvBytes), nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, secret.data(), iv.data()) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), ct.data(), &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1;
  total = len;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), ct.data() + total, &len) == 1;
  total += len;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), tag) == 1;
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!ok) throw std::runtime_error("fake kms: AES-GCM encryption failed");
  std::vector<std::byte> blob;
  auto append = [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    blob.insert(blob.end(), b, b + n);
  };
  append(kMagic.data(), kMagic.size());
  append(id.data(), id.size());
  append(iv.data(), iv.size());
  append(ct.data(), static_cast<std::size_t>(total));
  append(tag, sizeof tag);
  return blob;
}

void FakeKms::set_allow_decrypt(std::string_view key_id, bool allow) {
  std::lock_guard lock(mu_);
  if (auto* k = const_cast<KeyState*>(find_key(key_id))) k->key.allow_decrypt = allow;
}

void FakeKms::set_recipient_pcrs(std::string_view key_id, std::map<std::uint32_t, std::vector<std::byte>> pcrs) {
  std::lock_guard lock(mu_);
  if (auto* k = const_cast<KeyState*>(find_key(key_id))) k->key.recipient_pcrs = std::move(pcrs);
}

void FakeKms::set_credentials_expired(std::string_view access_key_id, bool expired) {
  std::lock_guard lock(mu_);
  for (auto& p : options_.principals) {
    if (p.access_key_id == access_key_id) p.expired = expired;
  }
}

void FakeKms::set_clock_offset(std::chrono::seconds offset) {
  std::lock_guard lock(mu_);
  clock_offset_ = offset;
}

void FakeKms::inject(Injection injection, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) injections_.push_back(injection);
}

std::vector<FakeKms::Recorded> FakeKms::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

int FakeKms::calls(std::string_view operation) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(operation);
  return it == calls_.end() ? 0 : it->second;
}

void FakeKms::handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
  {
    std::lock_guard lock(mu_);
    ++active_handlers_;
  }
  struct Done {
    FakeKms& f;
    ~Done() {
      {
        std::lock_guard lock(f.mu_);
        --f.active_handlers_;
      }
      f.idle_cv_.notify_all();
    }
  } done{*this};

  Recorded rec;
  rec.method = req.getMethod();
  rec.path = req.getURI();
  rec.host = req.get("Host", "");
  rec.content_type = req.getContentType();
  const std::string target = req.get("X-Amz-Target", "");
  rec.operation = target.starts_with("TrentService.") ? target.substr(13) : target;

  // Bounded read: one byte more than the limit tells an oversized body apart.
  std::string body;
  {
    char buf[8192];
    auto& is = req.stream();
    while (body.size() <= kMaxRequestBytes && (is.read(buf, sizeof buf) || is.gcount() > 0)) {
      body.append(buf, static_cast<std::size_t>(is.gcount()));
    }
  }

  Injection inj;
  {
    std::unique_lock lock(mu_);
    ++calls_[rec.operation];
    if (!injections_.empty()) {
      inj = injections_.front();
      injections_.pop_front();
    }
    // Waits end early when the fake stops, so shutdown never waits out a test's injected delay.
    const auto wait = inj.stall ? std::chrono::milliseconds(60000) : inj.delay;
    if (wait.count() > 0) stall_cv_.wait_for(lock, wait, [this] { return stopping_; });
  }

  auto send = [&](int status, const std::string& payload, const std::string& type, bool truncate) {
    rec.status = status;
    resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    resp.setContentType(type);
    resp.set("x-amzn-RequestId", request_id());
    for (const auto& [k, v] : inj.headers) resp.set(k, v);
    if (inj.chunked) {
      resp.setChunkedTransferEncoding(true);
    } else {
      resp.setContentLength(static_cast<std::streamsize>(payload.size()));
    }
    if (truncate) {
      resp.setKeepAlive(false);
      auto& os = resp.send();
      os.write(payload.data(), static_cast<std::streamsize>(payload.size() / 2));
      os.flush();
    } else {
      resp.send() << payload;
    }
    std::lock_guard lock(mu_);
    requests_.push_back(rec);
  };

  if (inj.stall) return send(503, "", "text/plain", false);
  if (inj.status != 0) return send(inj.status, inj.body, inj.content_type, false);
  Answer a = body.size() > kMaxRequestBytes
                 ? aws_error(413, "SerializationException",
                             "Request body is over " + std::to_string(kMaxRequestBytes) + " bytes")
                 : process(req, body, rec, inj);
  if (!body.empty()) OPENSSL_cleanse(body.data(), body.size());  // Encrypt bodies hold plaintext
  rec.error_type = a.error_type;
  send(a.status, a.body, kJson11, inj.truncate);
  if (!a.body.empty()) OPENSSL_cleanse(a.body.data(), a.body.size());
}

FakeKms::Answer FakeKms::process(Poco::Net::HTTPServerRequest& req, const std::string& body, Recorded& rec,
                                 const Injection& injection) {
  // ---- authentication (before anything about the operation, as AWS's front end does) ----------------------------
  const std::string authorization = req.get("Authorization", "");
  if (authorization.empty())
    return aws_error(400, "MissingAuthenticationTokenException", "Missing Authentication Token");
  auto auth = notify::aws::parse_authorization(authorization);
  if (!auth) return aws_error(400, "IncompleteSignatureException", auth.error().message);
  rec.access_key_id = auth->access_key_id;

  Principal principal;
  std::chrono::seconds offset{0};
  {
    std::lock_guard lock(mu_);
    auto it = std::find_if(options_.principals.begin(), options_.principals.end(),
                           [&](const Principal& p) { return p.access_key_id == auth->access_key_id; });
    if (it == options_.principals.end()) {
      return aws_error(400, "UnrecognizedClientException", "The security token included in the request is invalid.");
    }
    principal = *it;
    offset = clock_offset_;
  }
  struct WipePrincipal {
    Principal& p;
    ~WipePrincipal() {
      OPENSSL_cleanse(p.secret_access_key.data(), p.secret_access_key.size());
      OPENSSL_cleanse(p.session_token.data(), p.session_token.size());
    }
  } wipe_principal{principal};

  const std::string token = req.get("X-Amz-Security-Token", "");
  rec.had_security_token = !token.empty();
  if (token.size() != principal.session_token.size() ||
      CRYPTO_memcmp(token.data(), principal.session_token.data(), token.size()) != 0) {
    return aws_error(400, "UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  if (principal.expired) {
    return aws_error(400, "ExpiredTokenException", "The security token included in the request is expired");
  }

  const std::string date_text = req.get("X-Amz-Date", "");
  const auto date = notify::aws::parse_amz_date(date_text);
  if (!date) {
    return aws_error(400, "IncompleteSignatureException",
                     "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const auto now = std::chrono::system_clock::now() + offset;
  const auto skew = options_.max_clock_skew;
  const std::string skew_text = std::to_string(skew.count() / 60) + " min.";
  if (*date < now - skew) {
    return invalid_signature("Signature expired: " + date_text + " is now earlier than " + amz(now - skew) + " (" +
                             amz(now) + " - " + skew_text + ")");
  }
  if (*date > now + skew) {
    return invalid_signature("Signature not yet current: " + date_text + " is still later than " + amz(now + skew) +
                             " (" + amz(now) + " + " + skew_text + ")");
  }
  if (auth->date != date_text.substr(0, 8)) {
    return invalid_signature(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '" +
        auth->date + "' != '" + date_text.substr(0, 8) + "', from '" + date_text + "'.");
  }
  if (auth->region != options_.region) return invalid_signature("Credential should be scoped to a valid region. ");
  if (auth->service != "kms") return invalid_signature("Credential should be scoped to correct service: 'kms'. ");
  const auto& names = auth->signed_headers;
  if (std::find(names.begin(), names.end(), "host") == names.end()) {
    return aws_error(400, "IncompleteSignatureException",
                     "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  // Rebuild the request as the client must have signed it, from what arrived, and sign it again.
  notify::aws::UnsignedRequest unsigned_request;
  unsigned_request.method = req.getMethod();
  const std::string& uri = req.getURI();
  const auto question = uri.find('?');
  unsigned_request.path = uri.substr(0, question);
  unsigned_request.query = question == std::string::npos ? "" : uri.substr(question + 1);
  unsigned_request.body = body;
  notify::aws::SigningParams params;
  params.region = auth->region;
  params.service = auth->service;
  params.time = *date;
  params.normalize_path = true;
  bool token_signed = false;
  for (const auto& name : names) {
    if (name == "x-amz-date" || name == "authorization") continue;
    if (name == "x-amz-security-token") {
      token_signed = true;
      continue;
    }
    if (name == "x-amz-content-sha256") {
      params.add_content_sha256 = true;
      continue;
    }
    for (const auto& [k, v] : req) {
      if (Poco::icompare(k, name) == 0) unsigned_request.headers.emplace_back(k, v);
    }
  }
  params.omit_session_token = !token.empty() && !token_signed;
  notify::aws::Credentials credentials;
  credentials.access_key_id = principal.access_key_id;
  credentials.secret_access_key = Secret(principal.secret_access_key);
  credentials.session_token = Secret(principal.session_token);
  auto expected = notify::aws::sign_with_header(unsigned_request, credentials, params);
  if (!expected || expected->signature.size() != auth->signature.size() ||
      CRYPTO_memcmp(expected->signature.data(), auth->signature.data(), auth->signature.size()) != 0) {
    return invalid_signature(
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details.");
  }
  rec.signature_valid = true;

  // ---- the operation ---------------------------------------------------------------------------------------------
  if (req.getMethod() != "POST" || unsigned_request.path != "/") {
    return aws_error(400, "UnknownOperationException", "");
  }
  if (!req.getContentType().starts_with(kJson11)) {
    return aws_error(400, "SerializationException", "Content-Type must be " + std::string(kJson11));
  }
  const std::string caller = "arn:aws:iam::" + std::string(kAccount) + ":user/" + principal.access_key_id;
  const std::string target = req.get("X-Amz-Target", "");
  if (target == "TrentService.Decrypt") return decrypt(body, caller, rec, injection);
  if (target == "TrentService.Encrypt") return encrypt_call(body, caller, rec);
  return aws_error(400, "UnknownOperationException", "", false);
}

FakeKms::Answer FakeKms::encrypt_call(const std::string& body, const std::string& caller, Recorded& rec) {
  auto parsed = parse_object(body);
  if (!parsed.doc) return aws_error(400, "SerializationException", parsed.problem);
  const Object& doc = *parsed.doc;
  const auto key_id = string_field(doc, "KeyId");
  if (!key_id) {
    return validation(
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must "
        "not be null");
  }
  rec.key_id = *key_id;
  const auto context = context_of(doc);
  if (!context) return aws_error(400, "SerializationException", "EncryptionContext must map strings to strings");
  rec.encryption_context = *context;
  const auto encoded = string_field(doc, "Plaintext");
  auto plaintext = encoded ? toolkit::base64_decode(*encoded) : std::nullopt;
  if (!plaintext || plaintext->empty() || plaintext->size() > kMaxPlaintextBytes) {
    return validation(
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must "
        "have length less than or equal to 4096 and greater than or equal to 1");
  }
  std::string id;
  {
    std::lock_guard lock(mu_);
    const KeyState* k = find_key(*key_id);
    if (k == nullptr) {
      return aws_error(400, "NotFoundException",
                       key_id->starts_with("alias/") || key_id->find(":alias/") != std::string::npos
                           ? "Alias " + *key_id + " is not found."
                           : "Key '" + *key_id + "' does not exist");
    }
    if (!k->key.allow_encrypt) return access_denied(caller, "kms:Encrypt", key_arn(k->key.id));
    id = k->key.id;
  }
  const auto blob = encrypt(id, *plaintext, *context);
  OPENSSL_cleanse(plaintext->data(), plaintext->size());
  Object out(Poco::JSON_PRESERVE_KEY_ORDER);
  out.set("CiphertextBlob", toolkit::base64_encode(blob));
  out.set("KeyId", key_arn(id));
  out.set("EncryptionAlgorithm", std::string("SYMMETRIC_DEFAULT"));
  std::ostringstream os;
  out.stringify(os);
  return {200, os.str(), {}};
}

FakeKms::Answer FakeKms::decrypt(const std::string& body, const std::string& caller, Recorded& rec,
                                 const Injection& injection) {
  auto parsed = parse_object(body);
  if (!parsed.doc) return aws_error(400, "SerializationException", parsed.problem);
  const Object& doc = *parsed.doc;

  const auto encoded_blob = string_field(doc, "CiphertextBlob");
  if (!encoded_blob) {
    return validation(
        "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: "
        "Member must not be null");
  }
  const auto blob = toolkit::base64_decode(*encoded_blob);
  if (!blob) return aws_error(400, "SerializationException", "CiphertextBlob is not base64");
  if (blob->empty() || blob->size() > kMaxBlobBytes) {
    return validation(
        "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member "
        "must have length less than or equal to 6144 and greater than or equal to 1");
  }
  if (auto key_id = string_field(doc, "KeyId")) rec.key_id = *key_id;
  const auto context = context_of(doc);
  if (!context) return aws_error(400, "SerializationException", "EncryptionContext must map strings to strings");
  rec.encryption_context = *context;

  // The Recipient: only its shape here; the document is verified after the key policy allowed the call.
  std::optional<std::vector<std::byte>> attestation_document;
  if (doc.has("Recipient") && !doc.get("Recipient").isEmpty()) {
    auto recipient = doc.getObject("Recipient");
    if (!recipient) return aws_error(400, "SerializationException", "Recipient must be a structure");
    rec.had_recipient = true;
    const auto algorithm = string_field(*recipient, "KeyEncryptionAlgorithm");
    if (!algorithm || *algorithm != "RSAES_OAEP_SHA_256") {
      return validation(
          "1 validation error detected: Value at 'recipient.keyEncryptionAlgorithm' failed to satisfy "
          "constraint: Member must satisfy enum value set: [RSAES_OAEP_SHA_256]");
    }
    const auto encoded_document = string_field(*recipient, "AttestationDocument");
    attestation_document = encoded_document ? toolkit::base64_decode(*encoded_document) : std::nullopt;
    if (!attestation_document || attestation_document->empty()) {
      return validation(
          "1 validation error detected: Value at 'recipient.attestationDocument' failed to satisfy "
          "constraint: Member must not be null");
    }
  }

  // The blob names its key: magic | key id | iv | ciphertext | tag.
  const std::size_t overhead = kMagic.size() + kKeyIdBytes + kIvBytes + kTagBytes;
  if (blob->size() < overhead || std::memcmp(blob->data(), kMagic.data(), kMagic.size()) != 0) {
    return aws_error(400, "InvalidCiphertextException", "", false);
  }
  const std::string blob_key(reinterpret_cast<const char*>(blob->data()) + kMagic.size(), kKeyIdBytes);
  Key key;
  std::vector<unsigned char> secret;
  {
    std::lock_guard lock(mu_);
    const KeyState* k = find_key(blob_key);
    if (k == nullptr) return aws_error(400, "InvalidCiphertextException", "", false);
    if (!rec.key_id.empty()) {
      const KeyState* named = find_key(rec.key_id);
      if (named == nullptr) {
        return aws_error(400, "NotFoundException",
                         rec.key_id.starts_with("alias/") || rec.key_id.find(":alias/") != std::string::npos
                             ? "Alias " + rec.key_id + " is not found."
                             : "Key '" + rec.key_id + "' does not exist");
      }
      if (named != k) {
        return aws_error(400, "IncorrectKeyException",
                         "The key ID in the request does not identify a CMK that can perform this operation.");
      }
    }
    key = k->key;
    secret = k->secret;
  }
  struct WipeSecret {
    std::vector<unsigned char>& s;
    ~WipeSecret() { OPENSSL_cleanse(s.data(), s.size()); }
  } wipe_secret{secret};
  const std::string arn = key_arn(key.id);

  // The key policy: the principal may decrypt, and every kms:RecipientAttestation:PCR<n> condition holds.
  if (!key.allow_decrypt) return access_denied(caller, "kms:Decrypt", arn);
  std::vector<std::byte> recipient_key;
  if (attestation_document) {
    notify::attestation::VerifyOptions verify;
    verify.allow_development = options_.allow_development_attestation;
    verify.allow_debug = true;  // a debug enclave's PCRs are zeros: the PCR conditions, not the format, refuse it
    auto verdict = notify::attestation::verify_attestation(*attestation_document, verify);
    if (!verdict) return validation("The attestation document is not valid: " + verdict.error().message);
    if (!verdict->document.public_key || verdict->document.public_key->empty()) {
      return validation("The attestation document has no public key");
    }
    for (const auto& [index, expected] : key.recipient_pcrs) {
      auto it = verdict->document.pcrs.find(index);
      if (it == verdict->document.pcrs.end() || it->second != expected)
        return access_denied(caller, "kms:Decrypt", arn);
    }
    recipient_key = *verdict->document.public_key;
  } else if (!key.recipient_pcrs.empty()) {
    return access_denied(caller, "kms:Decrypt", arn);  // the condition keys are absent: the condition fails
  }

  // The blob itself: AES-256-GCM with the key id and the encryption context as associated data.
  const auto* iv = reinterpret_cast<const unsigned char*>(blob->data()) + kMagic.size() + kKeyIdBytes;
  const auto* ct = iv + kIvBytes;
  const std::size_t ct_len = blob->size() - overhead;
  std::vector<unsigned char> tag(ct + ct_len, ct + ct_len + kTagBytes);
  const std::string aad = associated_data(key.id, *context);
  std::vector<std::byte> plaintext(ct_len + 16);
  CipherCtx cctx(EVP_CIPHER_CTX_new());
  int len = 0, total = 0;
  bool ok = cctx && EVP_DecryptInit_ex(cctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(cctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kIvBytes), nullptr) == 1 &&
            EVP_DecryptInit_ex(cctx.get(), nullptr, nullptr, secret.data(), iv) == 1 &&
            EVP_DecryptUpdate(cctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(cctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()), &len, ct,
                              static_cast<int>(ct_len)) == 1;
  total = len;
  ok = ok && EVP_CIPHER_CTX_ctrl(cctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) == 1 &&
       EVP_DecryptFinal_ex(cctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()) + total, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return aws_error(400, "InvalidCiphertextException", "", false);
  }
  plaintext.resize(static_cast<std::size_t>(total + len));
  struct WipePlaintext {
    std::vector<std::byte>& p;
    ~WipePlaintext() { OPENSSL_cleanse(p.data(), p.size()); }
  } wipe_plaintext{plaintext};

  Object out(Poco::JSON_PRESERVE_KEY_ORDER);
  out.set("KeyId", injection.answer_key_id.empty() ? arn : injection.answer_key_id);
  if (attestation_document) {
    std::vector<std::byte> envelope;
    try {
      envelope = build_ciphertext_for_recipient(recipient_key, plaintext);
    } catch (const std::exception& e) {
      return validation(std::string("The public key in the attestation document cannot be used: ") + e.what());
    }
    out.set("CiphertextForRecipient", toolkit::base64_encode(envelope));
    if (injection.add_plaintext) out.set("Plaintext", toolkit::base64_encode(plaintext));
  } else {
    out.set("Plaintext", toolkit::base64_encode(plaintext));
  }
  out.set("EncryptionAlgorithm", std::string("SYMMETRIC_DEFAULT"));
  std::ostringstream os;
  out.stringify(os);
  return {200, os.str(), {}};
}

}  // namespace notify::testing
