#pragma once
/// @file secret.hpp
/// Secrets: a string that wipes itself and never prints, and the store that holds them by name
/// (e.g. "braze.api_key"). Values are installed by config (dev), by sealed provisioning (production), or by the
/// insecure dev link path; readers fetch a copy for the duration of one use.

#include <notify/abi.hpp>
#include <notify/result.hpp>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace notify {

/// Owns secret bytes; zeroes them on destruction and on move-from. Deliberately has no stream operator
/// and no implicit conversion, so it cannot end up in a log line by accident.
class NOTIFY_API Secret {
 public:
  Secret() = default;
  explicit Secret(std::string_view value) : value_(value) {}
  Secret(const Secret& other) : value_(other.value_) {}
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  Secret& operator=(const Secret& other) {
    if (this != &other) {
      wipe();
      value_ = other.value_;
    }
    return *this;
  }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      wipe();
      value_ = std::move(other.value_);
      other.wipe();
    }
    return *this;
  }
  ~Secret() { wipe(); }

  /// The bytes. Use them at once (e.g. build a header); don't keep copies.
  [[nodiscard]] std::string_view reveal() const noexcept { return value_; }
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return value_.size(); }

  /// Overwrites the bytes with zeros (explicit_bzero cannot be optimised away) and empties the value.
  void wipe() noexcept {
    if (!value_.empty()) explicit_bzero(value_.data(), value_.size());
    value_.clear();
  }

 private:
  std::string value_;
};

/// Where a secret came from; reported (never the value) by health and logs.
enum class SecretOrigin : int {
  config = 0,         ///< from the host's YAML / environment (dev)
  insecure_link = 1,  ///< sent in plaintext by the parent (seed's Initialize; dev only)
  sealed = 2,         ///< opened inside the enclave from a blob sealed to its attested key
  kms = 3,            ///< decrypted by AWS KMS for this attested enclave (CiphertextForRecipient)
};

constexpr const char* secret_origin_name(SecretOrigin o) noexcept {
  switch (o) {
    case SecretOrigin::config:
      return "config";
    case SecretOrigin::insecure_link:
      return "insecure-link";
    case SecretOrigin::sealed:
      return "sealed";
    case SecretOrigin::kms:
      return "kms";
  }
  return "unknown";
}

/// The host's named secrets. Thread-safe. Values are also registered with the log redactor.
class NOTIFY_API SecretStore {
 public:
  virtual ~SecretStore() = default;
  /// A copy of the secret, or nullopt if not installed.
  [[nodiscard]] virtual std::optional<Secret> get(std::string_view name) const = 0;
  /// Installs or replaces a secret; the previous value is wiped.
  virtual Status put(std::string_view name, Secret value, SecretOrigin origin) = 0;
  /// True if the secret is installed (cheap; no copy).
  [[nodiscard]] virtual bool has(std::string_view name) const = 0;
};

}  // namespace notify
