#pragma once
// A fake EC2 instance metadata service for tests: plain HTTP on 127.0.0.1 (Poco HTTPServer), IMDSv2 as AWS documents
// it. PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1..21600) returns a session token; every GET
// must carry a live token in X-aws-ec2-metadata-token (401 otherwise). GET /latest/meta-data/iam/security-credentials/
// lists the role; .../<role> returns the credentials JSON (Code, LastUpdated, Type, AccessKeyId, SecretAccessKey,
// Token, Expiration). Tests can rotate what is served, break it on purpose, and count requests.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace Poco::Net {
class HTTPServer;
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Poco::Net

namespace notify::testing {

class FakeImds {
 public:
  /// What .../security-credentials/<role> serves.
  struct ServedCredentials {
    std::string access_key_id = "ASIAFAKEIMDS00000001";
    std::string secret_access_key = "fake-imds-secret-0000000000000000000000";
    std::string token = "fake-imds-session-token-0000";
    std::string expiration = "2099-01-01T00:00:00Z";  ///< served verbatim, so tests can serve malformed ones
    std::string code = "Success";
  };
  struct Options {
    std::string role = "notify-parent-role";
    ServedCredentials credentials;
    int threads = 4;
  };
  struct Counts {
    int token_puts = 0;       ///< PUT /latest/api/token answered with a token
    int role_listings = 0;    ///< GET .../security-credentials/ answered 200
    int credential_gets = 0;  ///< GET .../security-credentials/<role> answered 200
    int unauthorized = 0;     ///< requests answered 401
    int total = 0;
  };
  struct Recorded {
    std::string method, path;
    bool had_token = false;  // the token itself is never recorded
    int status = 0;
  };

  FakeImds();  // the defaults of Options
  explicit FakeImds(Options options);
  FakeImds(const FakeImds&) = delete;
  FakeImds& operator=(const FakeImds&) = delete;
  ~FakeImds();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url() const;  ///< "http://127.0.0.1:PORT"

  /// Serves other credentials from now on (rotation).
  void set_credentials(ServedCredentials credentials);
  void set_role(std::string role);
  /// Forgets every issued token, as a restarted IMDS would: GETs with an old token get 401.
  void revoke_tokens();
  /// Not 0: PUT /latest/api/token answers this status with an empty body (200 = an empty token); 0 = normal.
  void fail_token_requests(int status);
  [[nodiscard]] Counts counts() const;
  [[nodiscard]] std::vector<Recorded> requests() const;

  // Called by the request handler.
  void handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

 private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  Options options_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::vector<Token> tokens_;
  int token_fault_ = 0;
  Counts counts_;
  std::vector<Recorded> requests_;
  int active_handlers_ = 0;  // the destructor waits for these, so no handler outlives the fake
  std::condition_variable idle_cv_;
};

}  // namespace notify::testing
