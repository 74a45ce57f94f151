#include "aws/kms_client.hpp"

#include "aws/cms_enveloped.hpp"

#include <notify/toolkit/base64.hpp>
#include <notify/toolkit/tls_client.hpp>
#include <notify/toolkit/unique_fd.hpp>
#include <notify/toolkit/url.hpp>

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <sstream>
#include <stop_token>
#include <thread>

namespace notify::aws {
namespace {

constexpr std::size_t kMaxResponseBytes = 64 * 1024;
// An NSM attestation document is ~4.5 KiB; KMS's own limit on Recipient.AttestationDocument is far below this.
constexpr std::size_t kMaxAttestationDocumentBytes = 16 * 1024;
constexpr std::size_t kMaxEncryptionContextBytes = 8 * 1024;
constexpr std::size_t kMaxErrorMessageChars = 512;
constexpr const char* kRecipientAlgorithm = "RSAES_OAEP_SHA_256";

// ---- TLS runtime: the toolkit's (one initializeSSL per process image, undone at exit) ------------------------------

using toolkit::AdoptedSocket;

Poco::Timespan to_timespan(std::chrono::milliseconds d) {
  return Poco::Timespan(std::max<std::int64_t>(d.count(), 1) * 1000);
}

// ---- the whole-call deadline ---------------------------------------------------------------------------------------

// Poco's timeouts bound each socket operation, not the call: a server trickling one byte per timeout could hold a
// request forever. This shuts the socket down when the deadline passes, so whatever is blocked on it fails at once.
// It works on its own duplicate of the descriptor: Poco closes the original when a handshake fails or a session
// ends, and a shutdown() through a number the kernel may already have reused would hit someone else's socket.
class Watchdog {
 public:
  Watchdog(int fd, std::chrono::steady_clock::time_point deadline) : fd_(::fcntl(fd, F_DUPFD_CLOEXEC, 0)) {
    if (!fd_) return;  // then only Poco's per-operation timeouts bound the call
    thread_ = std::jthread([this, deadline](std::stop_token stop) {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, stop, deadline, [] { return false; });
      if (!stop.stop_requested()) {
        fired_ = true;
        ::shutdown(fd_.get(), SHUT_RDWR);
      }
    });
  }
  ~Watchdog() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  [[nodiscard]] bool fired() const noexcept { return fired_; }

 private:
  toolkit::UniqueFd fd_;  // a duplicate, so shutting it down never races with Poco closing the original
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::atomic<bool> fired_{false};
  std::jthread thread_;
};

// ---- small pure helpers ------------------------------------------------------------------------------------------

// The KMS endpoint: https only, because TLS ends inside the enclave. The host is bare for SNI and bracketed (if
// IPv6) in the Host header and the transport address.
struct Endpoint {
  std::string url;  // as configured, for messages
  toolkit::UrlEndpoint parsed;
};

Result<Endpoint> parse_endpoint(const std::string& url) {
  auto parsed = toolkit::parse_endpoint_url(url, {"https"}, "endpoint");
  if (!parsed) return parsed.error();
  return Endpoint{url, std::move(parsed.value())};
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// A KMS key id: a UUID (8-4-4-4-12 hex) or a multi-Region key id ("mrk-" and 32 hex digits).
bool valid_key_id(std::string_view id) {
  if (id.starts_with("mrk-")) return id.size() == 36 && is_hex(id.substr(4));
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : std::isxdigit(static_cast<unsigned char>(id[i])) == 0) return false;
  }
  return true;
}

bool valid_region(std::string_view r) {
  if (r.empty() || r.size() > 32 || std::isalpha(static_cast<unsigned char>(r.front())) == 0) return false;
  return std::all_of(r.begin(), r.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

struct KeyArn {
  std::string region, account, key_id;
};

// "arn:PARTITION:kms:REGION:ACCOUNT:key/KEY_ID", nothing else (an alias ARN is not a key ARN).
std::optional<KeyArn> parse_key_arn(std::string_view arn) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    const auto colon = arn.find(':', start);
    if (colon == std::string_view::npos) return std::nullopt;
    parts.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  const std::string_view resource = arn.substr(start);
  if (parts[0] != "arn" || !(parts[1] == "aws" || parts[1].starts_with("aws-")) || parts[2] != "kms")
    return std::nullopt;
  if (!valid_region(parts[3]) || parts[4].size() != 12 ||
      !std::all_of(parts[4].begin(), parts[4].end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  if (!resource.starts_with("key/") || !valid_key_id(resource.substr(4))) return std::nullopt;
  return KeyArn{std::string(parts[3]), std::string(parts[4]), std::string(resource.substr(4))};
}

// KMS's message text is shown to operators: one line, bounded.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxErrorMessageChars)) {
    out += std::iscntrl(static_cast<unsigned char>(c)) != 0 ? ' ' : c;
  }
  if (text.size() > kMaxErrorMessageChars) out += "...";
  return out;
}

// "com.amazonaws.kms#AccessDeniedException" and "AccessDeniedException:http://internal..." both mean
// "AccessDeniedException" (what the AWS SDKs do with __type and X-Amzn-ErrorType).
std::string error_type_name(std::string_view raw) {
  if (const auto colon = raw.find(':'); colon != std::string_view::npos) raw = raw.substr(0, colon);
  if (const auto hash = raw.rfind('#'); hash != std::string_view::npos) raw = raw.substr(hash + 1);
  return printable(raw.substr(0, 128));
}

std::optional<std::string> string_field(const Poco::JSON::Object& o, const char* key) {
  if (!o.has(key)) return std::nullopt;
  const auto v = o.get(key);
  if (!v.isString()) return std::nullopt;
  return v.extract<std::string>();
}

}  // namespace

bool kms_key_matches(std::string_view pinned, std::string_view answered_arn) {
  const auto answered = parse_key_arn(answered_arn);
  if (!answered) return false;
  if (pinned.starts_with("arn:")) return parse_key_arn(pinned).has_value() && pinned == answered_arn;
  return valid_key_id(pinned) && pinned == answered->key_id;
}

Status validate_kms_options(const KmsOptions& options) {
  if (!valid_region(options.region)) {
    return Error{Errc::invalid_argument, "region '" + options.region + "': expected an AWS region such as us-east-1"};
  }
  const std::string& key = options.key_id;
  if (key.starts_with("alias/") || key.find(":alias/") != std::string::npos) {
    return Error{Errc::invalid_argument, "key_id '" + key +
                                             "': an alias cannot be pinned (its target can change); "
                                             "use the key ARN or the key id"};
  }
  if (key.starts_with("arn:")) {
    const auto arn = parse_key_arn(key);
    if (!arn) {
      return Error{Errc::invalid_argument, "key_id '" + key + "': expected arn:aws:kms:REGION:ACCOUNT:key/KEY_ID"};
    }
    if (arn->region != options.region) {
      return Error{Errc::invalid_argument, "key_id '" + key + "': the key is in region " + arn->region +
                                               ", not in the configured region " + options.region};
    }
  } else if (!valid_key_id(key)) {
    return Error{Errc::invalid_argument,
                 "key_id '" + key + "': expected a key ARN or a key id (a UUID, or mrk- and 32 hex digits)"};
  }
  if (!options.endpoint.empty()) {
    auto e = parse_endpoint(options.endpoint);
    if (!e) return e.error();
  }
  if (options.egress_transport.empty()) return Error{Errc::invalid_argument, "egress_transport: must not be empty"};
  if (options.connect_timeout.count() <= 0) return Error{Errc::invalid_argument, "connect_timeout: must be positive"};
  if (options.request_timeout.count() <= 0) return Error{Errc::invalid_argument, "request_timeout: must be positive"};
  return {};
}

struct KmsClient::Impl {
  Endpoint endpoint;
  std::string egress_address;
  Poco::Net::Context::Ptr tls;
  std::optional<Error> config_error;  // reported by every call: a constructor cannot return it
};

KmsClient::KmsClient(std::shared_ptr<Transport> egress, KmsOptions options, Log& log)
    : egress_(std::move(egress)), options_(std::move(options)), log_(log), impl_(std::make_unique<Impl>()) {
  if (options_.endpoint.empty()) options_.endpoint = "https://kms." + options_.region + ".amazonaws.com";
  if (auto valid = validate_kms_options(options_); !valid) {
    impl_->config_error = Error{Errc::invalid_argument, "kms: " + valid.message()};
    return;
  }
  impl_->endpoint = parse_endpoint(options_.endpoint).value();
  impl_->egress_address =
      options_.egress_address.empty() ? impl_->endpoint.parsed.authority() : options_.egress_address;
  try {
    impl_->tls = toolkit::make_tls_client_context(options_.ca_file);
  } catch (const Poco::Exception& e) {
    impl_->config_error = Error{Errc::invalid_argument,
                                "kms: TLS setup with ca_file '" + options_.ca_file + "' failed: " + e.displayText()};
  }
}

KmsClient::~KmsClient() = default;

Result<DecryptForRecipientResponse> KmsClient::decrypt_for_recipient(const DecryptForRecipientRequest& request,
                                                                     const Credentials& credentials,
                                                                     std::chrono::system_clock::time_point now,
                                                                     KmsFailure* failure) {
  if (impl_->config_error) return *impl_->config_error;
  const Endpoint& ep = impl_->endpoint;
  const std::string where = "kms " + ep.url;
  const std::string via = " via " + options_.egress_transport + " " + impl_->egress_address;

  if (request.ciphertext_blob.empty() || request.ciphertext_blob.size() > kMaxKmsCiphertextBlobBytes) {
    return Error{Errc::invalid_argument, where + ": CiphertextBlob must be 1.." +
                                             std::to_string(kMaxKmsCiphertextBlobBytes) + " bytes, got " +
                                             std::to_string(request.ciphertext_blob.size())};
  }
  if (request.attestation_document.empty() || request.attestation_document.size() > kMaxAttestationDocumentBytes) {
    return Error{Errc::invalid_argument, where + ": the attestation document must be 1.." +
                                             std::to_string(kMaxAttestationDocumentBytes) + " bytes"};
  }
  std::size_t context_bytes = 0;
  for (const auto& [k, v] : request.encryption_context) context_bytes += k.size() + v.size();
  if (context_bytes > kMaxEncryptionContextBytes) {
    return Error{Errc::invalid_argument,
                 where + ": the encryption context is over " + std::to_string(kMaxEncryptionContextBytes) + " bytes"};
  }

  // ---- the request ------------------------------------------------------------------------------------------------
  std::string body;
  {
    Poco::JSON::Object doc(Poco::JSON_PRESERVE_KEY_ORDER);
    doc.set("CiphertextBlob", toolkit::base64_encode(request.ciphertext_blob));
    doc.set("KeyId", options_.key_id);
    Poco::JSON::Object::Ptr context =
        new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);  // NOLINT: Poco's SharedPtr
    for (const auto& [k, v] : request.encryption_context) context->set(k, v);
    doc.set("EncryptionContext", context);
    Poco::JSON::Object::Ptr recipient = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);  // NOLINT
    recipient->set("KeyEncryptionAlgorithm", std::string(kRecipientAlgorithm));
    recipient->set("AttestationDocument", toolkit::base64_encode(request.attestation_document));
    doc.set("Recipient", recipient);
    std::ostringstream os;
    doc.stringify(os);
    body = os.str();
  }
  UnsignedRequest unsigned_request;
  unsigned_request.method = "POST";
  unsigned_request.path = "/";
  unsigned_request.headers = {{"Host", ep.parsed.host_header()},
                              {"Content-Type", "application/x-amz-json-1.1"},
                              {"X-Amz-Target", "TrentService.Decrypt"}};
  unsigned_request.body = body;
  SigningParams signing;
  signing.region = options_.region;
  signing.service = "kms";
  signing.time = now;
  signing.normalize_path = true;
  auto signed_request = sign_with_header(unsigned_request, credentials, signing);
  if (!signed_request) {
    return Error{signed_request.error().code, where + ": signing failed: " + signed_request.error().message};
  }
  struct WipeHeaders {  // the added headers carry the session token
    SignedRequest& s;
    ~WipeHeaders() {
      for (auto& [name, value] : s.added_headers) {
        if (!value.empty()) explicit_bzero(value.data(), value.size());
      }
    }
  } wipe{signed_request.value()};

  log_.debug("kms: Decrypt with a Recipient (" + std::to_string(request.attestation_document.size()) +
             "-byte attestation document) to " + ep.url + via);

  // ---- the exchange -----------------------------------------------------------------------------------------------
  const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  auto remaining = [&] {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds(1));
  };
  auto stream = egress_->connect(impl_->egress_address, std::min(options_.connect_timeout, options_.request_timeout));
  if (!stream) {
    // A refused TCP connection is a network failure here; Errc::refused is kept for KMS saying no.
    const Errc code = stream.error().code == Errc::refused ? Errc::unreachable : stream.error().code;
    return Error{code, where + ": connecting" + via + " failed: " + stream.error().message};
  }

  // Poco and OpenSSL drive the socket themselves, so the egress transport must hand over an OS socket (transport.hpp).
  const int fd = stream.value()->release();
  if (fd < 0) {
    return Error{Errc::unsupported,
                 where + via + ": the transport has no OS socket to hand over, so it cannot carry TLS"};
  }

  int status = 0;
  std::string answer;
  std::string header_error_type;
  {
    AdoptedSocket plain(fd);
    Watchdog watchdog(plain.impl()->sockfd(), deadline);
    bool tls_done = false;
    try {
      plain.setReceiveTimeout(to_timespan(remaining()));
      plain.setSendTimeout(to_timespan(remaining()));
      // attach() runs the handshake with SNI and verifies the chain and the host name against the endpoint host.
      Poco::Net::SecureStreamSocket secure = Poco::Net::SecureStreamSocket::attach(plain, ep.parsed.host, impl_->tls);
      tls_done = true;
      secure.setReceiveTimeout(to_timespan(remaining()));
      secure.setSendTimeout(to_timespan(remaining()));
      Poco::Net::HTTPClientSession session(secure);
      session.setTimeout(to_timespan(remaining()));
      session.setKeepAlive(false);

      Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, "/", Poco::Net::HTTPMessage::HTTP_1_1);
      for (const auto& [name, value] : unsigned_request.headers) req.set(name, value);
      for (const auto& [name, value] : signed_request->added_headers) req.set(name, value);
      req.setContentLength(static_cast<std::streamsize>(body.size()));
      req.setKeepAlive(false);
      auto& os = session.sendRequest(req);
      os << body;
      os.flush();

      Poco::Net::HTTPResponse resp;
      auto& is = session.receiveResponse(resp);
      status = static_cast<int>(resp.getStatus());
      header_error_type = resp.get("X-Amzn-ErrorType", "");
      if (resp.hasContentLength() && resp.getContentLength64() > static_cast<Poco::Int64>(kMaxResponseBytes)) {
        return Error{Errc::protocol_error, where + ": HTTP " + std::to_string(status) + " answer of " +
                                               std::to_string(resp.getContentLength64()) + " bytes is over the " +
                                               std::to_string(kMaxResponseBytes) + "-byte limit"};
      }
      char buf[8192];
      while (answer.size() <= kMaxResponseBytes && (is.read(buf, sizeof buf) || is.gcount() > 0)) {
        answer.append(buf, static_cast<std::size_t>(is.gcount()));
      }
      if (answer.size() > kMaxResponseBytes) {
        return Error{Errc::protocol_error, where + ": HTTP " + std::to_string(status) + " answer is over the " +
                                               std::to_string(kMaxResponseBytes) + "-byte limit"};
      }
      if (watchdog.fired()) throw Poco::TimeoutException("deadline");
      if (resp.hasContentLength() && static_cast<Poco::Int64>(answer.size()) != resp.getContentLength64()) {
        return Error{Errc::protocol_error, where + ": HTTP " + std::to_string(status) + " answer truncated (" +
                                               std::to_string(answer.size()) + " of " +
                                               std::to_string(resp.getContentLength64()) + " bytes)"};
      }
    } catch (const Poco::Exception& e) {
      if (watchdog.fired() || dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr) {
        return Error{Errc::timed_out, where + via + ": no complete answer within " +
                                          std::to_string(options_.request_timeout.count()) + " ms"};
      }
      if (!tls_done) {
        return Error{Errc::refused, where + ": TLS with " + ep.parsed.host + via + " failed: " + e.displayText()};
      }
      if (dynamic_cast<const Poco::Net::NoMessageException*>(&e) != nullptr) {
        return Error{Errc::protocol_error, where + via + ": connection closed without an answer"};
      }
      if (dynamic_cast<const Poco::Net::MessageException*>(&e) != nullptr) {
        return Error{Errc::protocol_error, where + via + ": malformed HTTP answer: " + e.displayText()};
      }
      return Error{Errc::io_error, where + via + ": " + e.displayText()};
    }
  }

  // ---- the answer -------------------------------------------------------------------------------------------------
  Poco::JSON::Object::Ptr doc;
  try {
    auto parsed = Poco::JSON::Parser().parse(answer);
    if (parsed.type() == typeid(Poco::JSON::Object::Ptr)) doc = parsed.extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    doc = nullptr;
  }

  if (status != 200) {
    std::optional<std::string> raw_type = doc ? string_field(*doc, "__type") : std::nullopt;
    if (!raw_type && !header_error_type.empty()) raw_type = header_error_type;
    if (!doc || !raw_type) {
      return Error{Errc::protocol_error, where + ": HTTP " + std::to_string(status) + " with " +
                                             (doc ? "no error type" : "a body that is not AWS JSON") + " (" +
                                             std::to_string(answer.size()) + " bytes)"};
    }
    KmsFailure f;
    f.http_status = status;
    f.type = error_type_name(*raw_type);
    auto message = string_field(*doc, "message");
    if (!message) message = string_field(*doc, "Message");
    f.message = printable(message.value_or(""));
    Errc code = Errc::refused;
    if (status >= 500) code = Errc::io_error;  // KMS's own failure (KMSInternalException, ...): may pass
    if (f.type == "ThrottlingException" || f.type == "LimitExceededException") code = Errc::resource_exhausted;
    std::string text = f.type + ": " + (f.message.empty() ? "(no message)" : f.message) + " (HTTP " +
                       std::to_string(status) + " from " + ep.url + ")";
    log_.debug("kms: Decrypt refused: " + text);
    if (failure != nullptr) *failure = std::move(f);
    return Error{code, std::move(text)};
  }

  if (!doc) return Error{Errc::protocol_error, where + ": HTTP 200 with a body that is not a JSON object"};
  // With a Recipient, KMS must not answer the plaintext ("null or empty" per the API reference). If it does, the
  // answer did not come from KMS's Recipient path, and a plaintext key on the wire is not something we accept.
  if (doc->has("Plaintext") && !doc->get("Plaintext").isEmpty() &&
      !(doc->get("Plaintext").isString() && doc->get("Plaintext").extract<std::string>().empty())) {
    return Error{Errc::protocol_error, where + ": the answer carries Plaintext despite the Recipient; refused"};
  }
  const auto key_id = string_field(*doc, "KeyId");
  if (!key_id) return Error{Errc::protocol_error, where + ": the answer has no KeyId"};
  if (!kms_key_matches(options_.key_id, *key_id)) {
    return Error{Errc::protocol_error, where + ": the answer names key '" + printable(*key_id) +
                                           "', not the pinned key '" + options_.key_id + "'; refused"};
  }
  const auto encoded = string_field(*doc, "CiphertextForRecipient");
  if (!encoded || encoded->empty()) {
    return Error{Errc::protocol_error, where + ": the answer has no CiphertextForRecipient"};
  }
  if (encoded->size() > (kMaxCiphertextForRecipientBytes + 2) / 3 * 4) {
    return Error{Errc::protocol_error, where + ": CiphertextForRecipient is over " +
                                           std::to_string(kMaxCiphertextForRecipientBytes) + " bytes"};
  }
  auto decoded = toolkit::base64_decode(*encoded);
  if (!decoded || decoded->empty())
    return Error{Errc::protocol_error, where + ": CiphertextForRecipient is not base64"};

  DecryptForRecipientResponse out;
  out.key_arn = *key_id;
  out.ciphertext_for_recipient = std::move(*decoded);
  log_.debug("kms: Decrypt answered by " + out.key_arn + " (" + std::to_string(out.ciphertext_for_recipient.size()) +
             " bytes for the recipient)");
  return out;
}

}  // namespace notify::aws
