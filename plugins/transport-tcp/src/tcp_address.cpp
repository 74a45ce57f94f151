#include "tcp_address.hpp"

#include <charconv>

namespace notify::tcp {

Result<HostPort> parse_host_port(std::string_view address) {
  auto bad = [&](std::string_view why) {
    return Error{Errc::invalid_argument,
                 "tcp address '" + std::string(address) + "': " + std::string(why) + " (expected host:port or [v6]:port)"};
  };
  std::string_view host;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    host = address.substr(1, close - 1);
    if (close + 1 >= address.size() || address[close + 1] != ':') return bad("missing ':port' after ']'");
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return bad("missing ':port'");
    host = address.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return bad("IPv6 literals must be bracketed");
    port = address.substr(colon + 1);
  }
  if (host.empty()) return bad("empty host");
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || value > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  return HostPort{std::string(host), static_cast<std::uint16_t>(value)};
}

std::string format_host_port(std::string_view host, std::uint16_t port) {
  if (host.find(':') != std::string_view::npos) return "[" + std::string(host) + "]:" + std::to_string(port);
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace notify::tcp
