#pragma once
// A fake AWS KMS for tests: real HTTPS on 127.0.0.1 (Poco HTTPServer + NetSSL) speaking AWS's JSON 1.1 protocol
// (POST /, X-Amz-Target: TrentService.Encrypt | TrentService.Decrypt), with what a client can get wrong checked the
// way KMS checks it:
//   - SigV4 is verified for real: the signature is recomputed with notify::aws::sign_with_header from the received
//     request and the configured credentials. Missing → MissingAuthenticationTokenException; unknown access key or
//     wrong session token → UnrecognizedClientException; credentials marked expired → ExpiredTokenException;
//     X-Amz-Date more than max_clock_skew from the fake's clock → InvalidSignatureException "Signature expired";
//     wrong scope or signature → InvalidSignatureException. All HTTP 400, as KMS answers them.
//   - Encrypt returns a CiphertextBlob of the fake's own format: AES-256-GCM under a per-key secret, with the key id
//     and the encryption context bound as associated data.
//   - Decrypt checks the blob, the KeyId if given (another key's blob → IncorrectKeyException), the key policy
//     (allow_decrypt, and kms:RecipientAttestation:PCR<n> conditions → AccessDeniedException) and the encryption
//     context (any difference → InvalidCiphertextException). With a Recipient, the attestation document is verified
//     with notify::attestation (development documents when allowed), and the answer is CiphertextForRecipient —
//     CMS EnvelopedData to the document's public_key, in KMS's BER — never Plaintext.
//   - Errors are AWS's: {"__type": "...Exception", "message": "..."} with the status KMS uses.
// Every request is counted per operation and recorded (never with secret material), and tests can inject raw
// answers, latency, stalls, an answer naming another key, or a Plaintext beside CiphertextForRecipient.

#include "test_pki.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace Poco::Net {
class HTTPServer;
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Poco::Net

namespace notify::testing {

class FakeKms {
 public:
  static constexpr std::string_view kAccount = "111122223333";
  static constexpr std::string_view kDefaultKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";  // AWS's doc example

  struct Key {
    std::string id;             ///< a UUID; the ARN is arn:aws:kms:<region>:111122223333:key/<id>
    bool allow_decrypt = true;  ///< the key policy lets the configured principals call kms:Decrypt
    bool allow_encrypt = true;
    /// kms:RecipientAttestation:PCR<n> conditions on Decrypt: when not empty, Decrypt needs a Recipient whose
    /// attestation document has exactly these values.
    std::map<std::uint32_t, std::vector<std::byte>> recipient_pcrs;
  };
  /// Credentials the fake accepts. Secrets: never recorded.
  struct Principal {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  ///< empty: a long-term key (no X-Amz-Security-Token expected)
    bool expired = false;
  };
  struct Options {
    std::string region = "us-east-1";
    std::vector<Key> keys{Key{std::string(kDefaultKeyId), true, true, {}}};
    std::vector<Principal> principals{
        Principal{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", false}};
    std::filesystem::path cert_file, key_file;  ///< the server certificate (required)
    std::uint16_t port = 0;                     ///< 0 = ephemeral (tests); fixed only for the CLI
    int threads = 8;
    std::chrono::seconds max_clock_skew{300};
    bool allow_development_attestation = true;  ///< accept the development attester's documents (tests, dev)
    /// Not empty: each key's secret is HMAC-SHA256(seed, key id), so blobs survive a restart of the fake.
    /// Empty: random secrets, valid for this instance only.
    std::string key_seed;

    /// HTTPS with the test PKI's server certificate (valid for 127.0.0.1 and localhost).
    static Options over_tls(const TestPki& pki) {
      Options o;
      o.cert_file = pki.server_cert;
      o.key_file = pki.server_key;
      return o;
    }
  };
  struct Recorded {
    std::string method, path, host, content_type;
    std::string operation;      ///< "Decrypt", "Encrypt", or whatever X-Amz-Target named after "TrentService."
    std::string access_key_id;  ///< from the Authorization header (not secret)
    bool signature_valid = false;
    bool had_security_token = false;  // the token itself is never recorded
    bool had_recipient = false;
    std::string key_id;  ///< KeyId as requested
    std::map<std::string, std::string> encryption_context;
    int status = 0;
    std::string error_type;  ///< __type of an error answer
  };
  /// What the next requests get instead of (or on top of) normal processing, in order.
  struct Injection {
    int status = 0;  ///< not 0: answer this status with `body` (verbatim, any size) instead of processing
    std::string body;
    bool chunked = false;  ///< send `body` chunked, without a Content-Length
    std::string content_type = "application/x-amz-json-1.1";
    std::map<std::string, std::string> headers;
    std::chrono::milliseconds delay{0};
    bool stall = false;  ///< hold the request until the fake stops (or 60 s), then drop the connection
    // On normal processing of a successful Decrypt:
    std::string answer_key_id;   ///< not empty: the answer's KeyId says this instead (a lying endpoint)
    bool add_plaintext = false;  ///< also answer Plaintext beside CiphertextForRecipient
    bool truncate = false;       ///< declare the full Content-Length, send half, close
  };

  struct Answer;  // an HTTP answer (status, JSON body, error type); defined in fake_kms.cpp

  explicit FakeKms(Options options);
  FakeKms(const FakeKms&) = delete;
  FakeKms& operator=(const FakeKms&) = delete;
  ~FakeKms();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url() const;  ///< "https://127.0.0.1:PORT"
  [[nodiscard]] const std::string& region() const noexcept { return options_.region; }
  /// arn:aws:kms:<region>:111122223333:key/<id>
  [[nodiscard]] std::string key_arn(std::string_view key_id = kDefaultKeyId) const;

  /// The fake's own Encrypt, without HTTP (for tests and the CLI). Throws std::invalid_argument for an unknown key.
  [[nodiscard]] std::vector<std::byte> encrypt(std::string_view key_id, std::span<const std::byte> plaintext,
                                               const std::map<std::string, std::string>& encryption_context) const;

  // Key policy and credentials, changeable while running.
  void set_allow_decrypt(std::string_view key_id, bool allow);
  void set_recipient_pcrs(std::string_view key_id, std::map<std::uint32_t, std::vector<std::byte>> pcrs);
  void set_credentials_expired(std::string_view access_key_id, bool expired);
  /// Shifts the fake's clock (for the signature-expiry check) by `offset`.
  void set_clock_offset(std::chrono::seconds offset);

  void inject(Injection injection, int times = 1);
  [[nodiscard]] std::vector<Recorded> requests() const;
  /// Requests per operation ("Decrypt", "Encrypt", ...), refused ones included.
  [[nodiscard]] int calls(std::string_view operation) const;

  // Called by the request handler.
  void handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

 private:
  struct KeyState {
    Key key;
    std::vector<unsigned char> secret;  // 32 bytes, wiped in the destructor
  };
  Answer process(Poco::Net::HTTPServerRequest& request, const std::string& body, Recorded& rec,
                 const Injection& injection);
  Answer decrypt(const std::string& body, const std::string& caller, Recorded& rec, const Injection& injection);
  Answer encrypt_call(const std::string& body, const std::string& caller, Recorded& rec);
  const KeyState* find_key(std::string_view key_id_or_arn) const;  // under mu_

  Options options_;
  std::vector<KeyState> keys_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable stall_cv_;
  bool stopping_ = false;
  std::chrono::seconds clock_offset_{0};
  std::deque<Injection> injections_;
  std::vector<Recorded> requests_;
  std::map<std::string, int, std::less<>> calls_;
  std::size_t active_handlers_ = 0;  // the destructor waits for these, so no handler outlives the fake
  std::condition_variable idle_cv_;
};

}  // namespace notify::testing
