#pragma once
// A fake Firebase Cloud Messaging for tests, over real HTTPS on loopback: Google's OAuth token endpoint (POST /token:
// the RS256 assertion verified with the service account's public key by OpenSSL here, its claims checked) and FCM's
// HTTP v1 messages:send (bearer token issued here, exactly one target, string data, 4,096-byte limit), recording every
// message, answering UNREGISTERED for unknown tokens, and injected errors on demand. Also makes test service accounts
// (a fresh RSA key) whose token_uri points at it.

#include "https_test_server.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace notify::testing {

class FakeFcm {
 public:
  struct Sent {
    std::string target_kind, target, title, body, name;  // name: the message name answered
    std::map<std::string, std::string> data;
  };
  struct Injection {
    int status = 503;
    std::string error_code;  // FcmError errorCode, e.g. "QUOTA_EXCEEDED"
    std::map<std::string, std::string> headers;
  };

  FakeFcm(const std::filesystem::path& cert_file, const std::filesystem::path& key_file, std::string project_id);
  ~FakeFcm();

  [[nodiscard]] std::string endpoint() const { return server_->url(); }
  [[nodiscard]] std::string token_uri() const { return server_->url() + "/token"; }
  [[nodiscard]] std::uint16_t port() const { return server_->port(); }

  /// A service account JSON for this fake (new RSA-2048 key; the fake trusts its public key from now on).
  std::string make_service_account(const std::string& client_email = "notify@test-project.iam.gserviceaccount.com");

  /// Registration tokens that are delivered to; any other token is UNREGISTERED. Topics and conditions always are.
  void register_tokens(const std::vector<std::string>& tokens);
  void inject(Injection injection, int times = 1);
  /// Access tokens issued so far stop working (401 UNAUTHENTICATED), as after their expiry.
  void revoke_access_tokens();
  /// The expires_in of tokens issued from now on.
  void set_token_lifetime(std::chrono::seconds lifetime);

  [[nodiscard]] std::vector<Sent> sent() const;
  [[nodiscard]] int token_exchanges() const;
  /// Why the fake refused assertions or messages (empty if it never did).
  [[nodiscard]] std::vector<std::string> complaints() const;

 private:
  HttpsTestServer::Reply handle(const HttpsTestServer::Request& r);
  HttpsTestServer::Reply token(const HttpsTestServer::Request& r);
  HttpsTestServer::Reply send(const HttpsTestServer::Request& r);

  std::string project_id_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> public_keys_;  // client_email -> PEM public key
  std::set<std::string> registered_, access_tokens_;
  std::deque<Injection> injections_;
  std::chrono::seconds token_lifetime_{3600};
  std::vector<Sent> sent_;
  std::vector<std::string> complaints_;
  int exchanges_ = 0;
  int next_ = 1;
  std::unique_ptr<HttpsTestServer> server_;  // last: its handler uses the members above
};

}  // namespace notify::testing
