#pragma once
// The egress relay: listens on one transport (vsock on the parent) and copies raw bytes to a fixed, allowlisted
// upstream per listen address over another transport (tcp). TLS passes through untouched: the relay never sees
// plaintext. One epoll loop carries every relayed pair (non-blocking fds, no thread per connection); a small fixed
// pool of connector threads resolves and connects upstreams so a slow connect never stalls the loop.

#include "parent/relay/relay_options.hpp"

#include <notify/log.hpp>
#include <notify/transport.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace notify::relay {

struct DestinationStats {
  std::uint64_t connections_total = 0;  ///< pairs established
  std::uint64_t connections_active = 0;
  std::uint64_t connections_failed = 0;   ///< resolve/connect failures
  std::uint64_t connections_refused = 0;  ///< allowlist or max_connections refusals
  std::uint64_t bytes_upstream = 0;       ///< client -> upstream
  std::uint64_t bytes_downstream = 0;     ///< upstream -> client
};

struct RelayStats {
  std::map<std::string, DestinationStats> destinations;  ///< keyed by "host:port" as configured
};

class RelayService {
 public:
  RelayService(std::shared_ptr<Transport> listen_transport, std::shared_ptr<Transport> upstream_transport,
               RelayOptions options, Log& log);
  RelayService(const RelayService&) = delete;
  RelayService& operator=(const RelayService&) = delete;
  ~RelayService();

  Status start();
  void stop();
  [[nodiscard]] RelayStats stats() const;
  /// The real listen addresses (ephemeral ports resolved), in route order.
  [[nodiscard]] std::vector<std::string> listen_addresses() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace notify::relay
