#pragma once
// Base64 (RFC 4648 section 4: the standard alphabet, padded, no line breaks), as KMS's JSON API, the link's JSON
// payloads and `aws kms encrypt --output text` write it. The one encoder and the one decoder of the tree.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace notify::toolkit {

std::string base64_encode(std::span<const std::byte> bytes);

/// Strict: only the standard alphabet, a length that is a multiple of 4, at most two '=' and only at the end.
/// std::nullopt for anything else, so the caller says what and where. Whitespace is not skipped: a caller reading a
/// file that may wrap lines strips it first (see strip_whitespace).
std::optional<std::vector<std::byte>> base64_decode(std::string_view text);

/// `text` without spaces, tabs and line breaks: a base64 file as tools write it, ready for base64_decode.
std::string strip_whitespace(std::string_view text);

}  // namespace notify::toolkit
