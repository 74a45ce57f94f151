#include "parent/relay/dns_cache.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>

namespace notify::relay {

Result<std::vector<std::string>> DnsCache::resolve(const std::string& host) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(host);
    if (it != entries_.end() && it->second.expires > now) {
      if (!it->second.error.empty()) return Error{Errc::not_found, it->second.error};
      return it->second.ips;
    }
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(raw, &::freeaddrinfo);
  Entry e;
  if (rc != 0) {
    e.error = "cannot resolve upstream host '" + host + "': " + ::gai_strerror(rc);
  } else {
    for (auto* a = list.get(); a; a = a->ai_next) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* src = a->ai_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
      if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) && ::inet_ntop(a->ai_family, src, text, sizeof text)) {
        if (std::find(e.ips.begin(), e.ips.end(), text) == e.ips.end()) e.ips.emplace_back(text);
      }
    }
    if (e.ips.empty()) e.error = "upstream host '" + host + "' resolved to no IP address";
  }
  e.expires = now + (e.error.empty() ? ttl_ : failure_ttl_);
  std::lock_guard lock(mu_);
  entries_[host] = e;
  if (!e.error.empty()) return Error{Errc::not_found, e.error};
  return e.ips;
}

}  // namespace notify::relay
