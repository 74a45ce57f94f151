#include "runtime/secret_store.hpp"

namespace notify::secrets {

std::optional<Secret> MemorySecretStore::get(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.value.empty()) return std::nullopt;
  return it->second.value;
}

Status MemorySecretStore::put(std::string_view name, Secret value, SecretOrigin origin) {
  if (name.empty()) return Error{Errc::invalid_argument, "secret name is empty"};
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it != entries_.end()) {
    it->second.value = std::move(value);  // Secret's move assignment wipes the old bytes first
    it->second.origin = origin;
  } else {
    entries_.emplace(std::string(name), Entry{std::move(value), origin});
  }
  return {};
}

bool MemorySecretStore::has(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  return it != entries_.end() && !it->second.value.empty();
}

std::vector<MemorySecretStore::Info> MemorySecretStore::list() const {
  std::lock_guard lock(mu_);
  std::vector<Info> out;
  for (const auto& [name, e] : entries_) out.push_back({name, e.origin, e.value.size()});
  return out;
}

void MemorySecretStore::redact(std::string& text) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, e] : entries_) {
    std::string_view v = e.value.reveal();
    // Very short values would redact ordinary words; real keys are long. Config validation warns about short keys.
    if (v.size() < 6) continue;
    const std::string mark = "<redacted:" + name + ">";
    for (auto pos = text.find(v); pos != std::string::npos; pos = text.find(v, pos + mark.size())) {
      text.replace(pos, v.size(), mark);
    }
  }
}

}  // namespace notify::secrets
