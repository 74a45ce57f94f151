#include "tcp_address.hpp"

namespace notify::tcp {

Result<HostPort> parse_host_port(std::string_view address) {
  return toolkit::parse_host_port(address, "tcp address", toolkit::PortRule::any);
}

std::string format_host_port(std::string_view host, std::uint16_t port) {
  return toolkit::format_host_port(host, port);
}

}  // namespace notify::tcp
