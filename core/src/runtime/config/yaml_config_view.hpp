#pragma once
// The SDK's ConfigView over one validated block of a ConfigDocument. Absent keys fall back to the schema's default,
// at every depth (nested objects and list entries carry their part of the schema), so defaults live in schemas only.

#include "runtime/config/config_document.hpp"

#include <notify/config_view.hpp>

#include <memory>
#include <span>
#include <stdexcept>
#include <string>

namespace notify::config {

/// Code read a key as always set (string_value() etc.) that its schema leaves optional without a default, or does
/// not know. A programming error, not a config error: it happens whatever the file holds, so the registry test that
/// builds every service over a minimal config finds it (tests/unit/service_registry_test.cpp).
class SchemaError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class YamlConfigView final : public ConfigView {
 public:
  /// `path` is the block's dotted path (for messages); `secret_prefix` names secrets ("braze" → "braze.api_key").
  YamlConfigView(std::shared_ptr<const ConfigDocument> doc, YAML::Node block, std::span<const FieldSpec> schema,
                 std::string path, std::string secret_prefix);

  [[nodiscard]] bool has(std::string_view key) const override;
  [[nodiscard]] std::optional<std::string> get_string(std::string_view key) const override;
  [[nodiscard]] std::optional<std::int64_t> get_int(std::string_view key) const override;
  [[nodiscard]] std::optional<bool> get_bool(std::string_view key) const override;
  [[nodiscard]] std::optional<std::chrono::milliseconds> get_duration(std::string_view key) const override;
  [[nodiscard]] std::vector<std::string> get_string_list(std::string_view key) const override;
  [[nodiscard]] std::map<std::string, std::string> get_string_map(std::string_view key) const override;
  [[nodiscard]] std::unique_ptr<ConfigView> get_object(std::string_view key) const override;
  [[nodiscard]] std::vector<std::unique_ptr<ConfigView>> get_object_list(std::string_view key) const override;
  [[nodiscard]] std::string secret_name(std::string_view key) const override;
  [[nodiscard]] std::string location(std::string_view key) const override;

  /// The raw value of a `secret` field (only the host uses this, to move it into the SecretStore).
  [[nodiscard]] std::optional<std::string> raw_secret(std::string_view key) const;

  /// Keys the schema guarantees a value for (required, or with a default): the file's value or the schema's default.
  /// No fallback literal at the call site, so a default is written once, in the schema. A key the schema leaves
  /// optional without a default is read with get_*() / has() instead; reading it here throws SchemaError.
  [[nodiscard]] std::string string_value(std::string_view key) const;
  [[nodiscard]] std::int64_t int_value(std::string_view key) const;
  [[nodiscard]] bool bool_value(std::string_view key) const;
  [[nodiscard]] std::chrono::milliseconds duration_value(std::string_view key) const;

  /// get_object / get_object_list with the concrete type, for code inside the host that needs the accessors above.
  [[nodiscard]] std::unique_ptr<YamlConfigView> object(std::string_view key) const;
  [[nodiscard]] std::vector<std::unique_ptr<YamlConfigView>> object_list(std::string_view key) const;

  /// The block's dotted path, e.g. "serve.dedup" or "provision.kms[0]".
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  [[nodiscard]] const FieldSpec* field(std::string_view key) const;
  /// The scalar text of a key, or its schema default; nullopt when neither exists.
  [[nodiscard]] std::optional<std::string> scalar(std::string_view key) const;
  /// scalar() of a key the schema guarantees (see string_value); SchemaError otherwise.
  [[nodiscard]] std::string guaranteed(std::string_view key, FieldType type) const;
  [[noreturn]] void unparsable(std::string_view key, const std::string& text, const char* type) const;

  std::shared_ptr<const ConfigDocument> doc_;
  YAML::Node block_;
  std::span<const FieldSpec> schema_;
  std::string path_;
  std::string secret_prefix_;
};

}  // namespace notify::config
