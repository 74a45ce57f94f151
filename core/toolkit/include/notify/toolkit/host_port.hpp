#pragma once
// The one reader and writer of network addresses in "host:port" notation: "example.com:443", "10.0.0.1:80",
// "[::1]:8443". An IPv6 literal must be bracketed (an unbracketed "::1:443" is ambiguous and refused); the host may
// be a DNS name or an IP literal (no spaces, no percent signs, no path), the port a decimal number. Errors name the
// setting (`what`) and the text as given.

#include <notify/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace notify::toolkit {

struct HostPort {
  std::string host;  ///< without brackets: "::1", not "[::1]"
  std::uint16_t port = 0;
};

/// Whether port 0 (an ephemeral port: listening only) is accepted.
enum class PortRule { any, nonzero };

/// Splits and validates `text`. `what` names the setting in error messages ("tcp address", "relay upstream").
Result<HostPort> parse_host_port(std::string_view text, std::string_view what, PortRule rule = PortRule::any);

/// The split without the port's range: host (brackets removed) and port text, both views into `text`. For notations
/// whose port is not a TCP port (vsock's CID:PORT) and for display. Its errors name `what` and `text` and leave the
/// expected notation for the caller to add.
struct HostPortText {
  std::string_view host;
  std::string_view port;
};
Result<HostPortText> split_host_port(std::string_view text, std::string_view what);

/// Whether `host` is an IPv6 literal (and so needs brackets beside a port or in a URL).
[[nodiscard]] bool is_ipv6_literal(std::string_view host);

/// `host` as it is written beside a port or in a URL: "[::1]" for an IPv6 literal, unchanged otherwise.
[[nodiscard]] std::string format_host(std::string_view host);

/// "host:port", bracketing an IPv6 literal: the inverse of parse_host_port.
[[nodiscard]] std::string format_host_port(std::string_view host, std::uint16_t port);

}  // namespace notify::toolkit
