#pragma once
// Standard Webhooks signatures (https://www.standardwebhooks.com/): the receiver checks
//   webhook-signature: v1,<base64 HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>
// with the key the shared secret "whsec_<base64>" encodes.

#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace notify::webhook {

/// The HMAC key a secret encodes: "whsec_" followed by the standard base64 of 24 to 64 bytes (the spec's range). The
/// prefix may be left off. Errors say what is wrong with the secret, never any of its characters.
Result<Secret> decode_signing_key(std::string_view secret);

/// "v1,<base64 signature>" of `body` sent as message `id` at `timestamp` (unix seconds).
std::string sign(const Secret& key, std::string_view id, std::int64_t timestamp, std::string_view body);

}  // namespace notify::webhook
