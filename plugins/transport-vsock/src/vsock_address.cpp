#include "vsock_address.hpp"

#include <notify/toolkit/host_port.hpp>

#include <charconv>

namespace notify::vsock {
namespace {

bool parse_u32(std::string_view s, std::uint32_t& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && ptr == s.data() + s.size();
}

}  // namespace

Result<VsockAddress> parse_vsock_address(std::string_view address) {
  constexpr std::string_view kExpected = " (expected CID:PORT, CID a number or any, local, host, parent)";
  auto bad = [&](std::string_view why) {
    return Error{Errc::invalid_argument,
                 "vsock address '" + std::string(address) + "': " + std::string(why) + std::string(kExpected)};
  };
  // The host:port splitter, then vsock's own reading of both halves: named CIDs, 32-bit ports.
  auto split = toolkit::split_host_port(address, "vsock address");
  if (!split) return Error{split.error().code, split.error().message + std::string(kExpected)};
  const std::string_view cid = split->host;
  const std::string_view port = split->port;
  VsockAddress a;
  if (cid == "any")
    a.cid = kCidAny;
  else if (cid == "local")
    a.cid = kCidLocal;
  else if (cid == "host" || cid == "parent")
    a.cid = kCidParent;
  else if (!parse_u32(cid, a.cid))
    return bad("CID is not a number or a known name");
  if (!parse_u32(port, a.port)) return bad("PORT is not a number");
  return a;
}

std::string format_vsock_address(const VsockAddress& a) {
  return (a.cid == kCidAny ? std::string("any") : std::to_string(a.cid)) + ":" + std::to_string(a.port);
}

}  // namespace notify::vsock
