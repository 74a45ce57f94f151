#pragma once
// APNs token-based authentication: an ES256 JWT ({"alg":"ES256","kid":key_id} . {"iss":team_id,"iat":now}) signed
// with the team's .p8 key. Apple accepts a token for an hour and refuses one refreshed more often than every 20
// minutes, so a token is reused for 50 minutes (or until APNs answers ExpiredProviderToken).

#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace notify::apns {

/// The JWT, signed now with `p8_pem` (a PKCS#8 P-256 private key). Errors never quote the key.
Result<std::string> make_provider_token(std::string_view p8_pem, std::string_view key_id, std::string_view team_id,
                                        std::chrono::system_clock::time_point now);

class ProviderTokens {
 public:
  /// The cached token, or a new one when there is none, it is 50 minutes old, or the key, key id or team changed.
  Result<Secret> get(const Secret& p8_pem, const std::string& key_id, const std::string& team_id);
  void invalidate();

  static constexpr std::chrono::minutes reuse_for() { return std::chrono::minutes(50); }

 private:
  std::mutex mu_;
  std::optional<Secret> token_;
  std::string made_for_;  // key id + team id
  std::chrono::steady_clock::time_point made_at_{};
};

}  // namespace notify::apns
