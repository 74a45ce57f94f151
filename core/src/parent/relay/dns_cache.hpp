#pragma once
// Resolves upstream host names for the relay with a short cache: successes live `ttl`, failures `failure_ttl`, so a
// changed DNS record is picked up on a later connection and a failing name is not hammered.

#include <notify/result.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace notify::relay {

class DnsCache {
 public:
  DnsCache(std::chrono::milliseconds ttl, std::chrono::milliseconds failure_ttl)
      : ttl_(ttl), failure_ttl_(failure_ttl) {}
  /// IP addresses of `host` (numeric text), or not_found naming the host.
  Result<std::vector<std::string>> resolve(const std::string& host);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point expires;
    std::vector<std::string> ips;
    std::string error;  // non-empty for a cached failure
  };
  std::chrono::milliseconds ttl_;
  std::chrono::milliseconds failure_ttl_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace notify::relay
