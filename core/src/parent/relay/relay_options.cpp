#include "parent/relay/relay_options.hpp"

#include <notify/toolkit/host_port.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace notify::relay {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Canonical text of an IP literal, so "::ffff:1.2.3.4"-style spellings compare by value.
std::string canonical_ip(std::string_view text) {
  std::string s(text);
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (::inet_pton(AF_INET, s.c_str(), buf) == 1 && ::inet_ntop(AF_INET, buf, out, sizeof out)) return out;
  if (::inet_pton(AF_INET6, s.c_str(), buf) == 1 && ::inet_ntop(AF_INET6, buf, out, sizeof out)) return out;
  return {};
}

}  // namespace

bool is_ip_literal(std::string_view text) { return !canonical_ip(text).empty(); }

Result<RelayRoute> parse_upstream(std::string_view listen, std::string_view upstream) {
  auto where = toolkit::parse_host_port(upstream, "relay upstream", toolkit::PortRule::nonzero);
  if (!where) return where.error();
  return RelayRoute{std::string(listen), std::move(where->host), where->port};
}

Status check_allowed(const std::vector<AllowEntry>& allowlist, std::string_view host, std::uint16_t port,
                     const std::vector<std::string>& resolved_ips) {
  const std::string dest = std::string(host) + ":" + std::to_string(port);
  bool host_known = false;
  for (const auto& e : allowlist) {
    bool match = iequals(e.address, host);
    if (!match) {
      const auto entry_ip = canonical_ip(e.address);
      if (!entry_ip.empty()) {
        match = entry_ip == canonical_ip(host) ||
                std::any_of(resolved_ips.begin(), resolved_ips.end(),
                            [&](const std::string& ip) { return canonical_ip(ip) == entry_ip; });
      }
    }
    if (!match) continue;
    host_known = true;
    if (e.port == port) return {};
  }
  if (host_known) {
    return Error{Errc::refused, "relay: destination " + dest + " refused: host is allowlisted but not on port " +
                                    std::to_string(port)};
  }
  return Error{Errc::refused, "relay: destination " + dest + " refused: not on the allowlist"};
}

Result<RelayOptions> relay_options_from(const ConfigView& view) {
  RelayOptions o;
  for (const auto& r : view.get_object_list("routes")) {
    auto route = parse_upstream(r->get_string("listen").value_or(""), r->get_string("upstream").value_or(""));
    if (!route) return Error{route.error().code, r->location("upstream") + ": " + route.error().message};
    o.routes.push_back(std::move(*route));
  }
  for (const auto& a : view.get_object_list("allowlist")) {
    const auto port = a->get_int("port").value_or(0);
    if (port <= 0 || port > 65535) {
      return Error{Errc::invalid_argument, a->location("port") + ": relay allowlist port must be 1..65535"};
    }
    o.allowlist.push_back({a->get_string("address").value_or(""), static_cast<std::uint16_t>(port)});
  }
  if (auto v = view.get_duration("connect_timeout")) o.connect_timeout = *v;
  if (auto v = view.get_duration("idle_timeout")) o.idle_timeout = *v;
  if (auto v = view.get_duration("dns_ttl")) o.dns_ttl = *v;
  if (auto v = view.get_duration("dns_failure_ttl")) o.dns_failure_ttl = *v;
  if (auto v = view.get_int("max_connections")) {
    if (*v <= 0) return Error{Errc::invalid_argument, view.location("max_connections") + ": must be positive"};
    o.max_connections = static_cast<std::size_t>(*v);
  }
  // Refuse at config time a route whose upstream the allowlist does not name (IP entries are checked again after
  // each resolution, at connect time).
  for (const auto& r : o.routes) {
    auto st = check_allowed(o.allowlist, r.upstream_host, r.upstream_port, {});
    bool ip_entries = std::any_of(o.allowlist.begin(), o.allowlist.end(), [&](const AllowEntry& e) {
      return is_ip_literal(e.address) && e.port == r.upstream_port;
    });
    if (!st && !(ip_entries && !is_ip_literal(r.upstream_host))) {
      return Error{Errc::invalid_argument, view.location("routes") + ": " + st.message()};
    }
  }
  return o;
}

}  // namespace notify::relay
