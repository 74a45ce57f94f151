#include <notify/toolkit/url.hpp>

#include <notify/toolkit/host_port.hpp>

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>

namespace notify::toolkit {
namespace {

std::uint16_t default_port(std::string_view scheme) {
  if (scheme == "https") return 443;
  if (scheme == "http") return 80;
  return 0;
}

bool valid_host(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return is_ipv6_literal(host);
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
  });
}

// The URL as shown in messages: user info (which may hold a password) is replaced by "...".
std::string redacted(std::string_view url) {
  const auto start = url.find("://");
  if (start == std::string_view::npos) return std::string(url);
  const auto end = url.find_first_of("/?#", start + 3);
  const auto at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  return std::string(url.substr(0, start + 3)) + "...@" + std::string(url.substr(at + 1));
}

}  // namespace

std::string UrlEndpoint::authority() const { return format_host_port(host, port); }

std::string UrlEndpoint::host_header() const {
  return port == default_port(scheme) ? format_host(host) : format_host_port(host, port);
}

Result<UrlEndpoint> parse_endpoint_url(std::string_view url, std::initializer_list<std::string_view> schemes,
                                       std::string_view what) {
  auto bad = [&](const std::string& why) {
    return Error{Errc::invalid_argument, std::string(what) + " '" + redacted(url) + "': " + why};
  };
  std::string expected;
  for (auto s : schemes) expected += std::string(expected.empty() ? "" : " or ") + std::string(s) + "://HOST[:PORT]";
  try {
    const Poco::URI uri{std::string(url)};
    UrlEndpoint e;
    e.scheme = uri.getScheme();  // Poco lower-cases it
    if (std::find(schemes.begin(), schemes.end(), e.scheme) == schemes.end()) return bad("must be " + expected);
    if (!uri.getUserInfo().empty()) return bad("must not carry user info (credentials do not belong in a URL)");
    if (!(uri.getPath().empty() || uri.getPath() == "/"))
      return bad("must not contain a path (expected " + expected + ")");
    if (!uri.getQuery().empty() || !uri.getFragment().empty()) return bad("must not contain a query or fragment");
    if (uri.getHost().empty()) return bad("no host (expected " + expected + ")");
    if (!valid_host(uri.getHost())) return bad("the host is not a name or an IP address");
    // Poco drops the brackets; only an IPv6 literal may have had them (the path and query are refused above, so a
    // bracket can only have come from the host).
    if (url.find('[') != std::string_view::npos && !is_ipv6_literal(uri.getHost())) {
      return bad("brackets hold only an IPv6 address");
    }
    e.host = uri.getHost();
    e.port = uri.getPort();  // the scheme's well-known port when none is given
    if (e.port == 0) return bad("no port, and the scheme has no default");
    return e;
  } catch (const Poco::SyntaxException& x) {
    return bad(x.message().empty() ? "not a URL" : "not a URL: " + x.message());
  } catch (const Poco::Exception&) {
    return bad("not a URL");
  }
}

}  // namespace notify::toolkit
