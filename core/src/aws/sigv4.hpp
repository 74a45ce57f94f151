#pragma once
// AWS Signature Version 4 (HMAC-SHA256, OpenSSL), as AWS documents it and as aws-c-auth's published test suite
// checks it (every case of ../shared/testdata/sigv4 passes in tests/aws/sigv4_test.cpp). Used by the enclave to sign
// its own KMS calls, and by the fake KMS to verify them. Pure functions: no clock, no network.

#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace notify::aws {

/// AWS credentials. The secret key and the session token are secrets: never logged, wiped on destruction.
struct Credentials {
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;                                             ///< empty for long-term keys
  std::optional<std::chrono::system_clock::time_point> expiration;  ///< when temporary credentials stop working
};

/// A request as it will be sent, before signing. The path and the query are raw, as on the request line
/// (unencoded UTF-8 allowed); the signer encodes them the way SigV4 requires.
struct UnsignedRequest {
  std::string method;  ///< "GET", "POST", ...
  std::string path;    ///< e.g. "/" or "/example/../x"
  /// Without the '?', e.g. "Param2=value2&Param1=value1"; may be empty. Each key and value may be raw or already
  /// percent-encoded: the signer decodes valid %XX escapes and encodes again, so both give the same signature.
  std::string query;
  /// In order; must include Host. Must not include Authorization, X-Amz-Date, X-Amz-Security-Token or
  /// x-amz-content-sha256 (the signer adds them; a verifier strips them before signing again). User-Agent,
  /// Connection, Expect, Transfer-Encoding, Upgrade and X-Amzn-Trace-Id are never signed (proxies change them).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct SigningParams {
  std::string region;   ///< e.g. "us-east-1"
  std::string service;  ///< e.g. "kms"
  std::chrono::system_clock::time_point time;
  bool normalize_path = true;       ///< resolve "." / ".." and collapse "//" (all services but S3; KMS: true)
  bool add_content_sha256 = false;  ///< add and sign x-amz-content-sha256 (aws-c-auth's sign_body)
  bool omit_session_token = false;  ///< add X-Amz-Security-Token after signing, unsigned (STS "after" case)
  std::chrono::seconds presign_expires{3600};  ///< query signing only: X-Amz-Expires
};

/// Every stage, so a test can compare each one with the published vectors.
struct SignedRequest {
  std::string canonical_request;  ///< holds the session token when it is signed: never log it
  std::string string_to_sign;
  std::string signature;  ///< 64 lowercase hex characters
  /// Header signing: the headers to add to the request (X-Amz-Date, X-Amz-Security-Token, x-amz-content-sha256,
  /// Authorization), in that order where present.
  std::vector<std::pair<std::string, std::string>> added_headers;
  /// Query signing: the full query string to send, X-Amz-Signature last.
  std::string presigned_query;
};

/// Signs with an Authorization header. Errors name the problem (no Host header, empty access key).
Result<SignedRequest> sign_with_header(const UnsignedRequest& request, const Credentials& credentials,
                                       const SigningParams& params);

/// Signs as a presigned URL (X-Amz-* query parameters).
Result<SignedRequest> sign_with_query(const UnsignedRequest& request, const Credentials& credentials,
                                      const SigningParams& params);

/// "20150830T123600Z"
std::string amz_date(std::chrono::system_clock::time_point t);
/// Parses "20150830T123600Z"; nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text);

/// A parsed Authorization header of the AWS4-HMAC-SHA256 scheme, for verifiers (the fake KMS).
struct AuthorizationHeader {
  std::string access_key_id;
  std::string date;  ///< credential scope date, "20150830"
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;  ///< lowercase, as listed
  std::string signature;
};
Result<AuthorizationHeader> parse_authorization(std::string_view value);

/// Lowercase hex of SHA-256(data).
std::string sha256_hex(std::string_view data);

}  // namespace notify::aws
