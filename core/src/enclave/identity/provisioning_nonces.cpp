#include "enclave/identity/provisioning_nonces.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <string>

namespace notify::attestation {
namespace {

constexpr std::size_t kRetiredRemembered = 64;

bool same(const Bytes& a, std::span<const std::byte> b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

std::string lifetime_text(std::chrono::seconds s) {
  if (s.count() % 3600 == 0) return std::to_string(s.count() / 3600) + "h";
  if (s.count() % 60 == 0) return std::to_string(s.count() / 60) + "m";
  return std::to_string(s.count()) + "s";
}

}  // namespace

ProvisioningNonces::ProvisioningNonces(Options options) : options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
  options_.capacity = std::max<std::size_t>(1, options_.capacity);
}

Result<Bytes> ProvisioningNonces::issue() {
  Bytes nonce(kNonceBytes);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) != 1) {
    return Error{Errc::internal, "provisioning nonce: no randomness"};
  }
  const auto now = options_.clock();
  std::lock_guard lock(mu_);
  expire_locked(now);
  while (outstanding_.size() >= options_.capacity) {
    retire_locked(std::move(outstanding_.front().nonce), Retired::evicted);
    outstanding_.pop_front();
  }
  outstanding_.push_back({nonce, now + options_.lifetime});
  return nonce;
}

Status ProvisioningNonces::consume(std::span<const std::byte> nonce) {
  const auto now = options_.clock();
  std::lock_guard lock(mu_);
  expire_locked(now);
  const auto it = std::find_if(outstanding_.begin(), outstanding_.end(),
                               [&](const Outstanding& o) { return same(o.nonce, nonce); });
  if (it != outstanding_.end()) {
    retire_locked(std::move(it->nonce), Retired::used);
    outstanding_.erase(it);
    return {};
  }
  const auto old =
      std::find_if(retired_.rbegin(), retired_.rend(), [&](const auto& r) { return same(r.first, nonce); });
  const std::string again = "; attest again and seal anew";
  if (old == retired_.rend()) {
    return Error{Errc::refused,
                 "its nonce was not issued by this enclave instance (sealed to another enclave's "
                 "attestation, or before a restart)" +
                     again};
  }
  switch (old->second) {
    case Retired::used:
      return Error{Errc::refused, "its nonce was already used: a replayed blob"};
    case Retired::evicted:
      return Error{Errc::refused, "its nonce was evicted: more than " + std::to_string(options_.capacity) +
                                      " provisioning attestations were requested after it" + again};
    case Retired::expired:
      return Error{Errc::refused,
                   "its nonce expired: the attestation is older than " + lifetime_text(options_.lifetime) + again};
  }
  return Error{Errc::refused, "its nonce is not outstanding"};
}

void ProvisioningNonces::withdraw(std::span<const std::byte> nonce) {
  std::lock_guard lock(mu_);
  std::erase_if(outstanding_, [&](const Outstanding& o) { return same(o.nonce, nonce); });
}

std::size_t ProvisioningNonces::outstanding() {
  const auto now = options_.clock();
  std::lock_guard lock(mu_);
  expire_locked(now);
  return outstanding_.size();
}

void ProvisioningNonces::expire_locked(std::chrono::steady_clock::time_point now) {
  // Issued in order with one lifetime, so they expire in order too.
  while (!outstanding_.empty() && outstanding_.front().expires <= now) {
    retire_locked(std::move(outstanding_.front().nonce), Retired::expired);
    outstanding_.pop_front();
  }
}

void ProvisioningNonces::retire_locked(Bytes nonce, Retired why) {
  retired_.emplace_back(std::move(nonce), why);
  if (retired_.size() > kRetiredRemembered) retired_.pop_front();
}

}  // namespace notify::attestation
