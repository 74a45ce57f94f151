#include "webhook_response.hpp"

#include <notify/http/retry_after.hpp>

#include <string>

namespace notify::webhook {
namespace {

// A short, printable excerpt of the receiver's answer for the operator.
std::string excerpt(std::string_view body) {
  constexpr std::size_t kMax = 200;
  std::string out;
  for (char c : body.substr(0, kMax)) out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  if (body.size() > kMax) out += "...";
  return out.empty() ? std::string() : ": " + out;
}

}  // namespace

DeliveryResult map_result(const http::HttpResult& result, std::string_view webhook_id,
                          std::chrono::system_clock::time_point now) {
  if (!result.ok()) return DeliveryResult::retryable(result.failure.message);
  const auto& r = *result.response;
  const std::string what = "webhook receiver answered HTTP " + std::to_string(r.status);
  if (r.status >= 200 && r.status < 300) return DeliveryResult::delivered(std::string(webhook_id));
  if (r.status == 408 || r.status == 429 || (r.status >= 500 && r.status < 600)) {
    return DeliveryResult::retryable(what + excerpt(r.body),
                                     http::retry_after(r, now).value_or(std::chrono::milliseconds(0)));
  }
  if (r.status >= 400 && r.status < 500) return DeliveryResult::rejected(what + excerpt(r.body));
  return DeliveryResult::rejected(what + " (not a final answer; redirects are not followed)");
}

}  // namespace notify::webhook
