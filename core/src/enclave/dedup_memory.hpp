#pragma once
// The serve path's request_id memory (EnclaveHandler's DeliveryMemory), backed by the bounded LRU + TTL cache.

#include "enclave/dedup_cache.hpp"
#include "enclave/enclave_handler.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace notify::enclave {

class DedupMemory final : public services::DeliveryMemory {
 public:
  DedupMemory(std::size_t capacity, std::chrono::milliseconds ttl) : cache_(capacity, ttl) {}
  delivery::DedupCache::Claim claim(const std::string& id, std::chrono::steady_clock::time_point deadline) override {
    return cache_.claim(id, deadline);
  }
  void settle(const std::string& id, const DeliveryResult& r) override { cache_.settle(id, r); }

 private:
  delivery::DedupCache cache_;
};

}  // namespace notify::enclave
