#pragma once
// The relay's config block and the allowlist decision. The allowlist works like AWS vsock-proxy's
// (`allowlist: - {address, port}`): a route's upstream is allowed when its host equals an entry's address
// (exact, case-insensitive) or one of its resolved IPs equals an entry's IP address, and the ports are equal.

#include <notify/config_view.hpp>
#include <notify/result.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace notify::relay {

inline constexpr FieldSpec kRelayRouteSchema[] = {
    {"listen", FieldType::string, true, nullptr, "address to listen on, in the listen transport's notation (any:8080)"},
    {"upstream", FieldType::string, true, nullptr, "host:port reached over the upstream transport"},
};
inline constexpr FieldSpec kRelayAllowSchema[] = {
    {"address", FieldType::string, true, nullptr, "allowed host name (exact match) or IP address"},
    {"port", FieldType::integer, true, nullptr, "allowed port"},
};
inline constexpr FieldSpec kRelaySchema[] = {
    {"enabled", FieldType::boolean, false, "true", "run the relay"},
    {"listen_transport", FieldType::string, false, "vsock", "transport plugin the relay listens on"},
    {"upstream_transport", FieldType::string, false, "tcp", "transport plugin that reaches upstreams"},
    {"routes", FieldType::object_list, true, nullptr, "one fixed upstream per listen address", kRelayRouteSchema,
     std::size(kRelayRouteSchema)},
    {"allowlist", FieldType::object_list, true, nullptr, "upstreams the relay may reach", kRelayAllowSchema,
     std::size(kRelayAllowSchema)},
    {"connect_timeout", FieldType::duration, false, "5s", "upstream connect timeout"},
    {"idle_timeout", FieldType::duration, false, "120s", "close a relayed pair idle this long"},
    {"max_connections", FieldType::integer, false, "1024", "concurrent relayed connections; more are refused"},
    {"dns_ttl", FieldType::duration, false, "30s", "how long a resolved upstream address is reused"},
    {"dns_failure_ttl", FieldType::duration, false, "2s", "how long a failed resolution is remembered"},
};

struct RelayRoute {
  std::string listen;
  std::string upstream_host;
  std::uint16_t upstream_port = 0;
};

struct AllowEntry {
  std::string address;
  std::uint16_t port = 0;
};

struct RelayOptions {
  std::vector<RelayRoute> routes;
  std::vector<AllowEntry> allowlist;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{120000};
  std::size_t max_connections = 1024;
  std::chrono::milliseconds dns_ttl{30000};
  std::chrono::milliseconds dns_failure_ttl{2000};
};

Result<RelayOptions> relay_options_from(const ConfigView& view);

/// Splits "host:port" / "[v6]:port". Errors name the text.
Result<RelayRoute> parse_upstream(std::string_view listen, std::string_view upstream);

/// Whether `host:port` may be reached, given the IPs it resolved to (empty when not resolved yet).
/// Refusals say why (unknown host, port mismatch).
Status check_allowed(const std::vector<AllowEntry>& allowlist, std::string_view host, std::uint16_t port,
                     const std::vector<std::string>& resolved_ips);

/// True when `text` is an IPv4 or IPv6 literal.
bool is_ip_literal(std::string_view text);

}  // namespace notify::relay
