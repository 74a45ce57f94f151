#pragma once
// Retry-After (RFC 9110 §10.2.3), which 429 and 503 answers of most push and webhook services carry.

#include <notify/http/http_types.hpp>

#include <chrono>
#include <optional>
#include <string_view>

namespace notify::http {

/// The wait a Retry-After value asks for: delta-seconds ("120") or an HTTP-date, relative to `now` (a date in the
/// past waits zero). nullopt when the value is neither, so the caller falls back to its own backoff.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

/// parse_retry_after of the response's Retry-After header, if it has one.
std::optional<std::chrono::milliseconds> retry_after(const HttpResponse& response,
                                                     std::chrono::system_clock::time_point now);

}  // namespace notify::http
