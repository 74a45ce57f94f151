#pragma once
// The host's secrets, by name. Values are wiped when replaced or at exit; every log line is passed through redact().

#include <notify/secret.hpp>

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace notify::secrets {

class MemorySecretStore final : public SecretStore {
 public:
  [[nodiscard]] std::optional<Secret> get(std::string_view name) const override;
  Status put(std::string_view name, Secret value, SecretOrigin origin) override;
  [[nodiscard]] bool has(std::string_view name) const override;

  /// Name and origin of each installed secret (never values), for health and logs.
  struct Info {
    std::string name;
    SecretOrigin origin;
    std::size_t length;
  };
  [[nodiscard]] std::vector<Info> list() const;

  /// Replaces every occurrence of an installed secret's value in `text` by "<redacted:NAME>".
  void redact(std::string& text) const;

 private:
  struct Entry {
    Secret value;
    SecretOrigin origin;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace notify::secrets
