#include "aws/credential_source.hpp"

#include <notify/toolkit/url.hpp>

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <istream>
#include <optional>
#include <string_view>

namespace notify::aws {
namespace {

// IMDS answers are small (a token is ~56 characters, the credentials JSON ~1.5 KiB); anything longer is not IMDS.
constexpr std::size_t kMaxTokenBytes = 4096;
constexpr std::size_t kMaxRoleListBytes = 4096;
constexpr std::size_t kMaxCredentialsBytes = 16 * 1024;
constexpr std::string_view kTokenPath = "/latest/api/token";
constexpr std::string_view kCredentialsPath = "/latest/meta-data/iam/security-credentials/";

// ---- env ---------------------------------------------------------------------------------------------------------

class EnvCredentialSource final : public CredentialSource {
 public:
  Result<Credentials> fetch() override {
    const char* id = std::getenv("AWS_ACCESS_KEY_ID");
    const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
    const char* token = std::getenv("AWS_SESSION_TOKEN");
    if (id == nullptr || *id == '\0')
      return Error{Errc::not_found, "credentials from env: AWS_ACCESS_KEY_ID is not set"};
    if (secret == nullptr || *secret == '\0') {
      return Error{Errc::not_found, "credentials from env: AWS_SECRET_ACCESS_KEY is not set"};
    }
    Credentials c;
    c.access_key_id = id;
    c.secret_access_key = Secret(secret);
    if (token != nullptr && *token != '\0') c.session_token = Secret(token);
    return c;
  }
  [[nodiscard]] std::string describe() const override { return "env"; }
};

// ---- imds --------------------------------------------------------------------------------------------------------

// "2017-05-17T15:09:54Z", with optional fractional seconds and a numeric offset instead of Z (RFC 3339 §5.6).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  auto number = [&](std::size_t pos, std::size_t len, int& out) {
    if (pos + len > s.size()) return false;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
    return ec == std::errc{} && p == s.data() + pos + len;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  if (!number(0, 4, year) || !number(5, 2, month) || !number(8, 2, day) || !number(11, 2, hour) ||
      !number(14, 2, minute) || !number(17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos == start) return std::nullopt;  // fractions are dropped: expiry is checked with minutes of margin
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (pos + 6 != s.size() || s[pos + 3] != ':' || !number(pos + 1, 2, oh) || !number(pos + 4, 2, om) || oh > 23 ||
        om > 59) {
      return std::nullopt;
    }
    offset_minutes = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t) - std::chrono::minutes(offset_minutes);
}

// IAM role names: letters, digits and +=,.@_- (at most 64). Checked so that a listing cannot steer the next path.
bool valid_role_name(std::string_view role) {
  if (role.empty() || role.size() > 64) return false;
  return std::all_of(role.begin(), role.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) || std::string_view("+=,.@_-").find(ch) != std::string_view::npos;
  });
}

class ImdsCredentialSource final : public CredentialSource {
 public:
  explicit ImdsCredentialSource(ImdsOptions options) : options_(std::move(options)) {}

  [[nodiscard]] std::string describe() const override { return "imds " + options_.endpoint; }

  Result<Credentials> fetch() override {
    auto where = endpoint();
    if (!where) return where.error();
    if (!options_.role.empty() && !valid_role_name(options_.role)) {
      return Error{Errc::invalid_argument, describe() + ": role is not a valid IAM role name"};
    }

    Poco::Net::HTTPClientSession session(where->first, where->second);
    const Poco::Timespan timeout(std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout).count());
    session.setTimeout(timeout, timeout, timeout);
    session.setKeepAlive(true);

    auto token = call(session, Poco::Net::HTTPRequest::HTTP_PUT, std::string(kTokenPath), nullptr, kMaxTokenBytes);
    if (!token) return token.error();
    if (token->reveal().empty()) return fail(Errc::protocol_error, "PUT", kTokenPath, "empty token");

    std::string role = options_.role;
    if (role.empty()) {
      auto listing =
          call(session, Poco::Net::HTTPRequest::HTTP_GET, std::string(kCredentialsPath), &*token, kMaxRoleListBytes);
      if (!listing) return listing.error();
      std::string_view first = listing->reveal();
      first = first.substr(0, first.find('\n'));
      while (!first.empty() && (first.back() == '\r' || first.back() == ' ')) first.remove_suffix(1);
      if (first.empty()) {
        return fail(Errc::not_found, "GET", kCredentialsPath, "no IAM role is attached to the instance");
      }
      if (!valid_role_name(first)) {
        return fail(Errc::protocol_error, "GET", kCredentialsPath, "the listed role name is malformed");
      }
      role = std::string(first);
    }

    const std::string path = std::string(kCredentialsPath) + role;
    auto document = call(session, Poco::Net::HTTPRequest::HTTP_GET, path, &*token, kMaxCredentialsBytes);
    if (!document) return document.error();
    return parse_credentials(document->reveal(), path);
  }

 private:
  // IMDS speaks plain http on a link-local address (its token is what protects it).
  Result<std::pair<std::string, std::uint16_t>> endpoint() const {
    auto e = toolkit::parse_endpoint_url(options_.endpoint, {"http"}, "imds endpoint");
    if (!e) return e.error();
    return std::make_pair(e->host, e->port);
  }

  [[nodiscard]] Error fail(Errc code, std::string_view method, std::string_view path, std::string_view what) const {
    return Error{code, describe() + ": " + std::string(method) + " " + std::string(path) + ": " + std::string(what)};
  }

  // One request; the body is returned as a Secret because a token or a credentials document is one.
  Result<Secret> call(Poco::Net::HTTPClientSession& session, const std::string& method, const std::string& path,
                      const Secret* token, std::size_t limit) {
    try {
      Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
      req.setKeepAlive(true);
      if (token == nullptr) {
        req.set("X-aws-ec2-metadata-token-ttl-seconds", std::to_string(options_.token_ttl.count()));
        req.setContentLength(0);
      } else {
        req.set("X-aws-ec2-metadata-token", std::string(token->reveal()));
      }
      session.sendRequest(req);
      Poco::Net::HTTPResponse resp;
      std::istream& is = session.receiveResponse(resp);
      const int status = static_cast<int>(resp.getStatus());
      if (resp.hasContentLength() && resp.getContentLength64() > static_cast<Poco::Int64>(limit)) {
        session.reset();
        return fail(Errc::protocol_error, method, path, "answer is over " + std::to_string(limit) + " bytes");
      }
      std::string body;
      char buf[1024];
      while (body.size() <= limit && (is.read(buf, sizeof buf) || is.gcount() > 0)) {
        body.append(buf, static_cast<std::size_t>(is.gcount()));
      }
      Secret secret(body);
      if (!body.empty()) explicit_bzero(body.data(), body.size());
      if (secret.size() > limit) {
        session.reset();
        return fail(Errc::protocol_error, method, path, "answer is over " + std::to_string(limit) + " bytes");
      }
      if (status == 401) return fail(Errc::refused, method, path, "HTTP 401 (the session token was not accepted)");
      if (status == 403) return fail(Errc::refused, method, path, "HTTP 403 (IMDS refused the request)");
      if (status == 404) return fail(Errc::not_found, method, path, "HTTP 404");
      if (status != 200) return fail(Errc::protocol_error, method, path, "HTTP " + std::to_string(status));
      return secret;
    } catch (const Poco::TimeoutException&) {
      return fail(Errc::timed_out, method, path,
                  "no answer within " + std::to_string(options_.timeout.count()) + " ms");
    } catch (const Poco::Net::ConnectionRefusedException&) {
      return fail(Errc::unreachable, method, path, "connection refused");
    } catch (const Poco::Net::NoMessageException&) {
      return fail(Errc::protocol_error, method, path, "connection closed without an answer");
    } catch (const Poco::Net::NetException& e) {
      return fail(Errc::io_error, method, path, e.displayText());
    } catch (const Poco::Exception& e) {
      return fail(Errc::io_error, method, path, e.displayText());
    }
  }

  Result<Credentials> parse_credentials(std::string_view body, const std::string& path) const {
    Poco::JSON::Object::Ptr doc;
    try {
      auto parsed = Poco::JSON::Parser().parse(std::string(body));
      if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) {
        return fail(Errc::protocol_error, "GET", path, "answer is not a JSON object");
      }
      doc = parsed.extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception&) {
      // The parser's message may quote the document, which holds the secret key: say only that it failed.
      return fail(Errc::protocol_error, "GET", path, "answer is not JSON");
    }
    auto text = [&](const char* key) -> std::optional<std::string> {
      if (!doc->has(key) || !doc->get(key).isString()) return std::nullopt;
      return doc->get(key).extract<std::string>();
    };
    const auto code = text("Code");
    if (!code || *code != "Success") return fail(Errc::refused, "GET", path, "Code is not \"Success\"");
    Credentials c;
    for (const char* key : {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}) {
      auto v = text(key);
      if (!v || v->empty()) return fail(Errc::protocol_error, "GET", path, std::string(key) + " is missing or empty");
      if (std::string_view(key) == "AccessKeyId") {
        c.access_key_id = std::move(*v);
      } else if (std::string_view(key) == "SecretAccessKey") {
        c.secret_access_key = Secret(*v);
      } else if (std::string_view(key) == "Token") {
        c.session_token = Secret(*v);
      } else {
        c.expiration = parse_rfc3339(*v);
        if (!c.expiration) return fail(Errc::protocol_error, "GET", path, "Expiration is not an RFC 3339 time");
      }
      if (!v->empty()) explicit_bzero(v->data(), v->size());
    }
    return c;
  }

  ImdsOptions options_;
};

}  // namespace

std::unique_ptr<CredentialSource> make_env_credential_source() { return std::make_unique<EnvCredentialSource>(); }

std::unique_ptr<CredentialSource> make_imds_credential_source(ImdsOptions options) {
  return std::make_unique<ImdsCredentialSource>(std::move(options));
}

}  // namespace notify::aws
