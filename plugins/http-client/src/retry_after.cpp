#include <notify/http/retry_after.hpp>

#include <curl/curl.h>

#include <charconv>
#include <string>

namespace notify::http {

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  // A day at most: a longer wait is the caller's decision, not the server's.
  constexpr std::int64_t kMaxSeconds = 86400;
  std::int64_t seconds = 0;
  const auto* end = value.data() + value.size();
  if (auto [ptr, ec] = std::from_chars(value.data(), end, seconds); ec == std::errc() && ptr == end) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::seconds(std::min(seconds, kMaxSeconds));
  }
  // An HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"), read by libcurl's date parser.
  const std::string text(value);
  const time_t at = curl_getdate(text.c_str(), nullptr);
  if (at == -1) return std::nullopt;
  const auto wait = std::chrono::system_clock::from_time_t(at) - now;
  if (wait <= std::chrono::system_clock::duration::zero()) return std::chrono::milliseconds(0);
  return std::min(std::chrono::duration_cast<std::chrono::milliseconds>(wait),
                  std::chrono::milliseconds(std::chrono::seconds(kMaxSeconds)));
}

std::optional<std::chrono::milliseconds> retry_after(const HttpResponse& response,
                                                     std::chrono::system_clock::time_point now) {
  auto value = response.header("retry-after");
  if (!value) return std::nullopt;
  return parse_retry_after(*value, now);
}

}  // namespace notify::http
