#pragma once
// The tcp transport's address notation: "host:port", "1.2.3.4:port", "[::1]:port" — the toolkit's, named
// "tcp address" in errors.

#include <notify/result.hpp>
#include <notify/toolkit/host_port.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace notify::tcp {

using toolkit::HostPort;

/// Splits and validates an address. The port must be 0..65535 (0 = ephemeral, listen only).
Result<HostPort> parse_host_port(std::string_view address);

/// Formats host and port back, bracketing IPv6 literals.
std::string format_host_port(std::string_view host, std::uint16_t port);

}  // namespace notify::tcp
