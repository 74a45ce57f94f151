#pragma once
// Signing per Standard Webhooks (https://www.standardwebhooks.com/): a receiver verifies a POST by recomputing
// HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}" with the shared key and comparing it with the
// `webhook-signature` header ("v1,<base64>"). The secret is written `whsec_<base64 of the key>`.

#include <notify/result.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace notify::toolkit {

/// The key bytes of a `whsec_<base64>` secret. The error never repeats the secret (it ends up in logs).
Result<std::vector<std::byte>> parse_webhook_secret(std::string_view secret);

/// The `webhook-signature` header value: "v1," + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
std::string sign_webhook(std::span<const std::byte> key, std::string_view id, std::int64_t timestamp,
                         std::string_view body);

}  // namespace notify::toolkit
