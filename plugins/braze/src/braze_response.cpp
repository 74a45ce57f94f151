#include "braze_response.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <charconv>

namespace notify::braze {
namespace {

std::optional<long long> header_number(const HttpResponse& r, const std::string& name) {
  auto it = r.headers.find(name);
  if (it == r.headers.end()) return std::nullopt;
  long long v = 0;
  const auto& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr == s.data()) return std::nullopt;
  return v;
}

// Braze's "message" for an error body, or the trimmed text when the body is not JSON.
std::string error_text(const HttpResponse& r) {
  try {
    auto v = Poco::JSON::Parser().parse(r.body);
    if (v.type() == typeid(Poco::JSON::Object::Ptr)) {
      auto o = v.extract<Poco::JSON::Object::Ptr>();
      if (o->has("message") && o->get("message").isString()) return trimmed(o->getValue<std::string>("message"));
    }
  } catch (const std::exception&) {
  }
  return trimmed(r.body);
}

}  // namespace

std::string trimmed(const std::string& text, std::size_t max) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max) {
      out += "…";
      break;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? "(empty body)" : out;
}

RateLimitHeaders rate_limit_headers(const HttpResponse& r) {
  return {header_number(r, "x-ratelimit-limit"), header_number(r, "x-ratelimit-remaining"),
          header_number(r, "x-ratelimit-reset")};
}

CallOutcome map_response(const HttpResponse& r, std::chrono::system_clock::time_point now) {
  CallOutcome out;
  const std::string status = "HTTP " + std::to_string(r.status);
  if (r.status >= 200 && r.status < 300) {
    out.outcome = Outcome::delivered;
    try {
      auto v = Poco::JSON::Parser().parse(r.body);
      if (v.type() == typeid(Poco::JSON::Object::Ptr)) {
        auto o = v.extract<Poco::JSON::Object::Ptr>();
        if (o->has("dispatch_id") && o->get("dispatch_id").isString())
          out.dispatch_id = o->getValue<std::string>("dispatch_id");
        if (o->has("errors")) {
          if (auto errors = o->getArray("errors")) {
            for (std::size_t i = 0; i < errors->size(); ++i) out.minor_errors.push_back(errors->get(i).toString());
          }
        }
      }
    } catch (const std::exception&) {
      // Accepted is accepted: an unreadable 2XX body must not turn into a retry (that would send twice).
    }
    return out;
  }
  if (r.status == 429) {
    out.outcome = Outcome::retryable;
    out.reason = status + " rate limited by Braze";
    if (auto reset = rate_limit_headers(r).reset_epoch_seconds) {
      const auto until = std::chrono::system_clock::time_point(std::chrono::seconds(*reset));
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
      out.retry_after = wait.count() > 0 ? wait : std::chrono::milliseconds(1000);
      out.reason += "; window resets in " + std::to_string((out.retry_after.count() + 999) / 1000) + " s";
    } else {
      out.retry_after = std::chrono::milliseconds(1000);
    }
    return out;
  }
  if (r.status >= 500) {
    out.outcome = Outcome::retryable;
    out.reason = status + " from Braze: " + error_text(r);
    return out;
  }
  out.outcome = Outcome::rejected;
  out.reason = status + " from Braze: " + error_text(r);
  return out;
}

}  // namespace notify::braze
