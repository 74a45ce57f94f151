#pragma once
// The link's message bodies and their JSON encoding (Poco::JSON; binary fields base64). Decoding is strict: a missing
// or mistyped field is a protocol error that names the field, e.g. "notifications[3].title: expected a string".
// Pure functions: unit-tested and fuzzed without sockets.

#include <notify/log.hpp>
#include <notify/notification.hpp>
#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <prometheus/metric_family.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace notify::link {

struct Hello {
  std::string node;
  std::uint32_t major = 0;
  std::uint32_t minor = 0;
};

struct ProviderStatus {
  std::string name;
  bool ready = false;
  std::string detail;
};

/// A secret the enclave's config declares, as health reports it: never the value.
enum class SecretState : std::uint8_t { installed = 0, missing = 1, failing = 2 };
const char* secret_state_name(SecretState s) noexcept;

struct SecretStatus {
  std::string name;
  SecretState state = SecretState::missing;
  std::string origin;  ///< installed: where from ("kms", "sealed", "config", "insecure-link")
  std::string source;  ///< how the enclave expects it: "kms" for secrets.sources, else "" (provisioned or config)
  std::string detail;  ///< failing: the reason (e.g. KMS's "AccessDeniedException: ..."); never a value
};

struct HealthInfo {
  std::string node;
  bool initialized = false;  ///< every provider is ready (e.g. has its API key)
  std::vector<ProviderStatus> providers;
  std::vector<SecretStatus> secrets;
  std::uint32_t protocol_major = 0;
  std::uint32_t protocol_minor = 0;
};

enum class ProvisionMode : std::uint8_t { plaintext_insecure = 0, sealed = 1 };

struct ProvisionRequest {
  std::string secret_name;
  ProvisionMode mode = ProvisionMode::sealed;
  std::vector<std::byte> payload;  ///< the secret (plaintext mode) or a sealed blob
};

/// verify: a document for a verifier, binding the caller's nonce. provisioning: a document to seal a secret to; the
/// enclave binds a fresh single-use nonce of its own and ignores the caller's.
enum class AttestPurpose : std::uint8_t { verify = 0, provisioning = 1 };

struct AttestRequest {
  std::vector<std::byte> nonce;
  AttestPurpose purpose =
      AttestPurpose::verify;  ///< JSON "purpose": "verify" (the default when absent) or "provisioning"
};

struct AttestReply {
  std::vector<std::byte> document;  ///< COSE_Sign1 attestation document
  bool development = false;         ///< produced by the development attester, not Nitro
};

/// What the parent hands the enclave so it can fetch its KMS-sourced secrets itself: AWS credentials (which only let
/// the enclave ask KMS) and each secret's CiphertextBlob. Neither reveals a secret.
struct KmsCiphertext {
  std::string name;             ///< a secret named in the enclave's secrets.sources
  std::vector<std::byte> blob;  ///< KMS CiphertextBlob
};
struct KmsProvisionRequest {
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;
  std::int64_t expiration_unix = 0;  ///< 0: no expiry known
  std::vector<KmsCiphertext> ciphertexts;
};
/// One outcome per ciphertext, in order.
struct KmsProvisionOutcome {
  std::string name;
  bool installed = false;
  std::string detail;  ///< why not (KMS's error type and message, or the enclave's reason)
};
struct KmsProvisionReply {
  std::vector<KmsProvisionOutcome> outcomes;
};

std::string encode_hello(const Hello& m);
Result<Hello> decode_hello(std::string_view json);

std::string encode_health(const HealthInfo& m);
Result<HealthInfo> decode_health(std::string_view json);

/// A deliver: the batch, and how long its sender waits for the answer (its request timeout). The enclave starts no
/// provider call once that budget has passed since the frame arrived, and a second arrival of a request_id that is
/// still at the provider waits for the first call's result at most that long. 0: no budget was sent (a parent of an
/// older minor version): no deadline.
/// The longest request_id a deliver may carry (the ingress accepts at most 128 characters).
inline constexpr std::size_t kMaxRequestIdBytes = 128;

struct DeliverRequest {
  std::vector<Notification> notifications;
  std::chrono::milliseconds budget{0};
};
/// The most a budget may say (an hour): more is refused as a protocol error.
inline constexpr std::chrono::milliseconds kMaxDeliverBudget{3'600'000};
std::string encode_deliver_request(std::span<const Notification> batch, std::chrono::milliseconds budget = {});
Result<DeliverRequest> decode_deliver_request(std::string_view json);

std::string encode_deliver_reply(std::span<const DeliveryResult> results);
Result<std::vector<DeliveryResult>> decode_deliver_reply(std::string_view json);

/// Results the enclave knows before its deliver_reply (protocol 2.4): each names its notification's index in the
/// deliver's batch. The reply still carries every result.
struct PartResult {
  std::size_t index = 0;
  DeliveryResult result;
};
std::string encode_deliver_part(std::span<const PartResult> part);
/// Indexes are checked against the batch by the caller (the decoder does not know it); at most 1000 entries.
Result<std::vector<PartResult>> decode_deliver_part(std::string_view payload);

std::string encode_provision_request(const ProvisionRequest& m);
Result<ProvisionRequest> decode_provision_request(std::string_view json);

std::string encode_attest_request(const AttestRequest& m);
Result<AttestRequest> decode_attest_request(std::string_view json);
std::string encode_attest_reply(const AttestReply& m);
Result<AttestReply> decode_attest_reply(std::string_view json);

/// The request carries credentials: callers wipe the returned string after sending (LinkClient does).
std::string encode_kms_provision_request(const KmsProvisionRequest& m);
Result<KmsProvisionRequest> decode_kms_provision_request(std::string_view json);
std::string encode_kms_provision_reply(const KmsProvisionReply& m);
Result<KmsProvisionReply> decode_kms_provision_reply(std::string_view json);

/// Body of error_reply. Decoding never fails: an unreadable body becomes a protocol_error saying so.
/// The enclave's log lines, already redacted inside the enclave, taken from its bounded buffer (oldest first).
struct LogLine {
  std::int64_t at_ms = 0;  // wall clock in the enclave, ms since the epoch
  LogLevel level = LogLevel::info;
  std::string component;
  std::string message;
};
struct LogsReply {
  std::vector<LogLine> lines;
  std::uint64_t dropped = 0;  // lines the buffer lost (it was full) since the previous reply
};
/// The most lines one reply may carry.
inline constexpr std::size_t kMaxLogLinesPerReply = 1000;
std::string encode_logs_request(std::size_t max_lines);
Result<std::size_t> decode_logs_request(std::string_view json);
std::string encode_logs_reply(const LogsReply& m);
Result<LogsReply> decode_logs_reply(std::string_view json);

/// The enclave's metrics (protocol 2.2), in prometheus-cpp's model: counters, gauges and histograms (a histogram's
/// +Inf bucket is implied by its count; NaN and infinities travel as strings). The decoder checks metric and label
/// names against Prometheus's rules and refuses the labels the parent adds itself (`source`, `node`).
inline constexpr std::size_t kMaxMetricFamilies = 200;
inline constexpr std::size_t kMaxMetricSeries = 1000;  ///< in all families together
inline constexpr std::size_t kMaxMetricLabels = 8;     ///< per series
inline constexpr std::size_t kMaxHistogramBuckets = 32;
std::string encode_metrics_reply(const std::vector<prometheus::MetricFamily>& families);
Result<std::vector<prometheus::MetricFamily>> decode_metrics_reply(std::string_view json);

std::string encode_error(const Error& e);
Error decode_error(std::string_view json);

/// Errc from its errc_name(), for errors that crossed the link; unknown names map to Errc::internal.
Errc errc_from_name(std::string_view name) noexcept;

}  // namespace notify::link
