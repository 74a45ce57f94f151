#pragma once
// The OAuth 2.0 JWT bearer assertion (RFC 7523) a service account signs with RS256 to obtain an access token.

#include "service_account.hpp"

#include <notify/result.hpp>

#include <chrono>
#include <span>
#include <string>
#include <string_view>

namespace notify::fcm {

inline constexpr const char* kMessagingScope = "https://www.googleapis.com/auth/firebase.messaging";

/// RFC 4648 §5 base64url without padding, as JWTs write it.
std::string base64url(std::span<const std::byte> bytes);

/// header.claims.signature with iss = client_email, scope, aud = token_uri, iat = `now`, exp = iat + `lifetime`
/// (Google allows at most one hour). Errors (an unreadable or non-RSA key) never quote the key.
Result<std::string> make_assertion(const ServiceAccount& account, std::chrono::system_clock::time_point now,
                                   std::chrono::seconds lifetime = std::chrono::seconds(3600));

}  // namespace notify::fcm
