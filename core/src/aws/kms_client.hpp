#pragma once
// The enclave's own KMS client: `Decrypt` with a Recipient (the Nitro attestation document that binds the enclave's
// RSA public key), so KMS answers CiphertextForRecipient, which only this enclave can open. HTTPS (TLS 1.2+, chain
// and host name verified against ca_file) ends inside the enclave; the bytes travel over the egress transport (vsock
// to the parent's relay in production, tcp in dev). AWS JSON 1.1 protocol, SigV4-signed (service "kms").
//
// The parent is hostile: it supplies the ciphertext and the credentials, and may relay to anything. So the endpoint,
// the CA, the pinned key and the encryption context come from the enclave's own (measured) config, the answer must
// name the pinned key, and every size is bounded.

#include "aws/sigv4.hpp"

#include <notify/log.hpp>
#include <notify/result.hpp>
#include <notify/transport.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace notify::aws {

inline constexpr std::size_t kMaxKmsCiphertextBlobBytes = 6144;  // KMS's own limit on CiphertextBlob

struct KmsOptions {
  std::string region;    ///< e.g. "us-east-1"
  std::string key_id;    ///< pinned: a key ARN or a key id (UUID); an answer naming another key is refused
  std::string endpoint;  ///< "https://kms.<region>.amazonaws.com" when empty
  std::string ca_file;   ///< trust anchors for the endpoint's certificate (an enclave has no system store)
  std::string egress_transport = "tcp";
  std::string egress_address;  ///< where the egress transport connects; default: the endpoint's host:port
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{15000};
};

struct DecryptForRecipientRequest {
  std::vector<std::byte> ciphertext_blob;                 ///< what `aws kms encrypt` printed (decoded)
  std::map<std::string, std::string> encryption_context;  ///< from the enclave's config
  std::vector<std::byte> attestation_document;            ///< COSE_Sign1 binding the recipient public key
};

/// What KMS said when it refused: its error type (e.g. "AccessDeniedException") and message, and the HTTP status.
struct KmsFailure {
  int http_status = 0;
  std::string type;
  std::string message;
};

struct DecryptForRecipientResponse {
  std::string key_arn;  ///< KMS's KeyId (always the key ARN)
  std::vector<std::byte> ciphertext_for_recipient;
};

/// True when `answered_arn` (arn:aws:kms:REGION:ACCOUNT:key/ID) is the key `pinned` names (the same ARN, or the
/// same key id). Aliases cannot be pinned.
bool kms_key_matches(std::string_view pinned, std::string_view answered_arn);

/// Checks a KmsOptions at config time: region, key id form (no alias), endpoint URL. Error names the field.
Status validate_kms_options(const KmsOptions& options);

class KmsClient {
 public:
  KmsClient(std::shared_ptr<Transport> egress, KmsOptions options, Log& log);
  ~KmsClient();
  KmsClient(const KmsClient&) = delete;
  KmsClient& operator=(const KmsClient&) = delete;

  /// One Decrypt call. On a KMS refusal the Error's message starts with KMS's error type
  /// ("AccessDeniedException: ...") and `failure` (if given) is filled; transport and TLS failures name the endpoint.
  /// `now` signs the request (tests may pass a fixed time).
  Result<DecryptForRecipientResponse> decrypt_for_recipient(const DecryptForRecipientRequest& request,
                                                            const Credentials& credentials,
                                                            std::chrono::system_clock::time_point now,
                                                            KmsFailure* failure = nullptr);

  [[nodiscard]] const KmsOptions& options() const noexcept { return options_; }

 private:
  struct Impl;
  std::shared_ptr<Transport> egress_;
  KmsOptions options_;
  Log& log_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace notify::aws
