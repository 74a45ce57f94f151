#pragma once
// A fake APNs for tests, over real HTTP/2 + TLS on loopback (H2TestServer: APNs speaks nothing else): it checks every
// push as Apple documents — POST /3/device/<token>, an ES256 provider token verified with OpenSSL against the public
// half of a P-256 key it made (kid, iss = team id, iat fresh), apns-topic, a payload of at most 4,096 bytes with an
// "aps" dictionary — records it, answers BadDeviceToken / Unregistered for unknown or retired device tokens, and
// injected errors on demand.

#include "h2_test_server.hpp"

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace notify::testing {

class FakeApns {
 public:
  struct Push {
    std::string device_token, apns_id, title, body, push_type, priority, expiration, collapse_id;
    std::map<std::string, std::string> custom;
  };
  struct Injection {
    int status = 503;
    std::string reason = "ServiceUnavailable";
    std::map<std::string, std::string> headers;
  };

  FakeApns(const std::filesystem::path& cert_file, const std::filesystem::path& key_file, std::string team_id,
           std::string key_id, std::string topic);
  ~FakeApns();

  [[nodiscard]] std::string endpoint() const { return server_->url(""); }
  /// The .p8 (PKCS#8 PEM) of the P-256 key whose tokens this fake accepts.
  [[nodiscard]] const std::string& key_pem() const { return key_pem_; }
  void register_devices(const std::vector<std::string>& tokens);
  /// The device token is retired: 410 Unregistered from now on.
  void unregister(const std::string& token);
  void inject(Injection injection, int times = 1);
  /// Like inject(), for the next `times` pushes to `device` only (before the global injections).
  void inject_for(const std::string& device, Injection injection, int times = 1);
  /// Provider tokens seen so far are answered ExpiredProviderToken from now on.
  void expire_provider_tokens();

  [[nodiscard]] std::vector<Push> pushes() const;
  /// The device token of every push request that carried a valid provider token, whatever it was answered, in order.
  [[nodiscard]] std::vector<std::string> requests() const;
  /// Distinct provider tokens that were accepted.
  [[nodiscard]] std::size_t provider_tokens_seen() const;
  [[nodiscard]] std::vector<std::string> complaints() const;

 private:
  H2TestServer::Reply handle(const H2TestServer::Request& r);

  std::string team_id_, key_id_, topic_, key_pem_, public_pem_;
  mutable std::mutex mu_;
  std::set<std::string> devices_, retired_, seen_tokens_, expired_tokens_;
  std::deque<Injection> injections_;
  std::map<std::string, std::deque<Injection>> device_injections_;
  std::vector<Push> pushes_;
  std::vector<std::string> requests_;
  std::vector<std::string> complaints_;
  int next_id_ = 1;
  std::unique_ptr<H2TestServer> server_;  // last: its handler uses the members above
};

}  // namespace notify::testing
