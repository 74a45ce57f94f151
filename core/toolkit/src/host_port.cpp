#include <notify/toolkit/host_port.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace notify::toolkit {
namespace {

constexpr std::string_view kExpected = " (expected host:port or [v6]:port)";

Error bad(std::string_view what, std::string_view text, std::string_view why) {
  return Error{Errc::invalid_argument, std::string(what) + " '" + std::string(text) + "': " + std::string(why)};
}

// A DNS name or an IPv4 literal: letters, digits, '-', '.', '_' (some internal names use it).
bool name_chars(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
  });
}

}  // namespace

bool is_ipv6_literal(std::string_view host) {
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return false;
  const std::string s(host);
  unsigned char buf[16];
  return ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Result<HostPortText> split_host_port(std::string_view text, std::string_view what) {
  HostPortText out;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad(what, text, "missing ']'");
    out.host = text.substr(1, close - 1);
    if (!is_ipv6_literal(out.host)) return bad(what, text, "'[" + std::string(out.host) + "]' is not an IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad(what, text, "missing ':port' after ']'");
    out.port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad(what, text, "missing ':port'");
    out.host = text.substr(0, colon);
    if (out.host.find(':') != std::string_view::npos) return bad(what, text, "IPv6 literals must be bracketed");
    if (out.host.empty()) return bad(what, text, "empty host");
    if (!name_chars(out.host)) return bad(what, text, "the host is not a name or an IP address");
    out.port = text.substr(colon + 1);
  }
  if (out.port.empty()) return bad(what, text, "empty port");
  return out;
}

Result<HostPort> parse_host_port(std::string_view text, std::string_view what, PortRule rule) {
  auto split = split_host_port(text, what);
  if (!split) return Error{split.error().code, split.error().message + std::string(kExpected)};
  const auto port = split->port;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  const unsigned lowest = rule == PortRule::nonzero ? 1 : 0;
  if (ec != std::errc{} || end != port.data() + port.size() || value < lowest || value > 65535) {
    return bad(what, text,
               "port must be a number from " + std::to_string(lowest) + " to 65535" + std::string(kExpected));
  }
  return HostPort{std::string(split->host), static_cast<std::uint16_t>(value)};
}

std::string format_host(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return "[" + std::string(host) + "]";
  return std::string(host);
}

std::string format_host_port(std::string_view host, std::uint16_t port) {
  return format_host(host) + ":" + std::to_string(port);
}

}  // namespace notify::toolkit
