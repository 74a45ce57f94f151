#pragma once
// Where the parent gets the AWS credentials it hands to the enclave (which only lets the enclave ask KMS; the key
// policy's PCR conditions decide whether KMS answers). Credentials are secrets: never logged, wiped when dropped.
//
//   env   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (optional), read at each fetch
//   imds  IMDSv2: PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds), then
//         GET /latest/meta-data/iam/security-credentials/ (the role) and .../<role> (the credentials JSON:
//         AccessKeyId, SecretAccessKey, Token, Expiration), each with X-aws-ec2-metadata-token.

#include "aws/sigv4.hpp"

#include <notify/result.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace notify::aws {

class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  /// Fresh credentials, or an error naming the source and what failed (never a value).
  virtual Result<Credentials> fetch() = 0;
  [[nodiscard]] virtual std::string describe() const = 0;  ///< "env", "imds http://169.254.169.254"
};

std::unique_ptr<CredentialSource> make_env_credential_source();

struct ImdsOptions {
  std::string endpoint = "http://169.254.169.254";  ///< tests point it at a fake on 127.0.0.1
  std::string role;                                 ///< empty: the first role IMDS lists
  std::chrono::milliseconds timeout{2000};
  std::chrono::seconds token_ttl{21600};
};
std::unique_ptr<CredentialSource> make_imds_credential_source(ImdsOptions options);

}  // namespace notify::aws
