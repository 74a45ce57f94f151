#pragma once
// The enclave's single-use provisioning nonces. Each provisioning attestation document carries a fresh random nonce
// of the enclave's own; a sealed blob is accepted only when it is bound to a nonce that is still outstanding, which
// it then uses up. So a blob cannot be replayed, an old one (rollback) is refused, and nothing sealed for an earlier
// enclave instance opens here. Memory stays bounded whatever the parent asks for: at most `capacity` nonces are
// outstanding (issuing one more evicts the oldest), each for `lifetime`. Thread-safe.

#include "attestation/attestation_document.hpp"

#include <notify/result.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

namespace notify::attestation {

class ProvisioningNonces {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  struct Options {
    std::size_t capacity = 16;
    std::chrono::seconds lifetime = std::chrono::hours(1);
    Clock clock;  ///< default: std::chrono::steady_clock::now (tests inject their own)
  };
  static constexpr std::size_t kNonceBytes = 32;

  ProvisioningNonces() : ProvisioningNonces(Options{}) {}
  explicit ProvisioningNonces(Options options);
  ProvisioningNonces(const ProvisioningNonces&) = delete;
  ProvisioningNonces& operator=(const ProvisioningNonces&) = delete;

  /// A fresh random nonce, now outstanding.
  Result<Bytes> issue();
  /// Uses up an outstanding nonce. Refuses (Errc::refused, saying why) one that was already used, evicted, expired
  /// or never issued here.
  Status consume(std::span<const std::byte> nonce);
  /// Forgets an outstanding nonce without counting it as used (its attestation failed).
  void withdraw(std::span<const std::byte> nonce);
  /// Nonces issued, not yet used, evicted or expired.
  [[nodiscard]] std::size_t outstanding();

 private:
  enum class Retired : std::uint8_t { used, evicted, expired };
  struct Outstanding {
    Bytes nonce;
    std::chrono::steady_clock::time_point expires;
  };
  void expire_locked(std::chrono::steady_clock::time_point now);
  void retire_locked(Bytes nonce, Retired why);

  Options options_;
  std::mutex mu_;
  std::deque<Outstanding> outstanding_;            // oldest first
  std::deque<std::pair<Bytes, Retired>> retired_;  // the last few, only so a refusal can say why
};

}  // namespace notify::attestation
