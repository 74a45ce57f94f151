#include "access_token.hpp"

#include "jwt.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>

namespace notify::fcm {
namespace {

std::string origin_of(const std::string& url) {
  try {
    Poco::URI u(url);
    return u.getScheme() + "://" + u.getAuthority();
  } catch (const std::exception&) {
    return "<unparsable url>";
  }
}

std::string form_encode(const std::string& value) {
  std::string out;
  Poco::URI::encode(value, "!#$&'()*+,/:;=?@[]", out);
  return out;
}

}  // namespace

Result<Secret> AccessTokens::get(const ServiceAccount& account, std::chrono::steady_clock::time_point deadline) {
  using Clock = std::chrono::steady_clock;
  std::lock_guard lock(mu_);
  const std::string owner = account.client_email + " " + account.token_uri;
  if (token_ && token_for_ == owner && Clock::now() + refresh_margin() < expires_) return *token_;
  const std::string where = "OAuth token exchange at " + origin_of(account.token_uri);
  auto assertion = make_assertion(account, std::chrono::system_clock::now());
  if (!assertion) return assertion.error();
  http::HttpRequest req;
  req.url = account.token_uri;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = "grant_type=" + form_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
             "&assertion=" + form_encode(*assertion);
  explicit_bzero(assertion->data(), assertion->size());
  const auto sent_at = Clock::now();
  auto result = http_.perform(req, deadline);
  explicit_bzero(req.body.data(), req.body.size());
  ++exchanges_;
  if (!result.ok()) return Error{result.failure.code, where + ": " + result.failure.message};
  const auto& r = *result.response;
  Poco::JSON::Object::Ptr body;
  try {
    Poco::JSON::Parser parser;
    body = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    return Error{Errc::protocol_error, where + ": HTTP " + std::to_string(r.status) + " with a body that is not JSON"};
  }
  if (r.status != 200) {
    // RFC 6749 §5.2: {"error": "invalid_grant", "error_description": "..."}.
    const std::string error = body->optValue<std::string>("error", "");
    const std::string description = body->optValue<std::string>("error_description", "");
    const Errc code = r.status >= 500 || r.status == 429 ? Errc::unreachable : Errc::refused;
    return Error{code, where + ": HTTP " + std::to_string(r.status) + (error.empty() ? "" : " " + error) +
                           (description.empty() ? "" : ": " + description)};
  }
  const auto token_value = body->optValue<std::string>("access_token", "");
  const auto lifetime = body->optValue<std::int64_t>("expires_in", 0);
  if (token_value.empty() || lifetime <= 0) {
    return Error{Errc::protocol_error, where + ": the answer has no access_token or no positive expires_in"};
  }
  token_ = Secret(token_value);
  token_for_ = owner;
  expires_ = sent_at + std::chrono::seconds(lifetime);  // counted from before the request: errs on the early side
  log_.debug(where + ": new access token, valid " + std::to_string(lifetime) + " s");
  return *token_;
}

void AccessTokens::invalidate() {
  std::lock_guard lock(mu_);
  token_.reset();
}

int AccessTokens::exchanges() const {
  std::lock_guard lock(mu_);
  return exchanges_;
}

}  // namespace notify::fcm
