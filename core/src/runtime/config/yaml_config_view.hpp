#pragma once
// The SDK's ConfigView over one validated block of a ConfigDocument. Absent keys fall back to the schema's default.

#include "runtime/config/config_document.hpp"

#include <notify/config_view.hpp>

#include <memory>
#include <span>
#include <string>

namespace notify::config {

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

 private:
  [[nodiscard]] const FieldSpec* field(std::string_view key) const;
  /// The scalar text of a key, or its schema default; nullopt when neither exists.
  [[nodiscard]] std::optional<std::string> scalar(std::string_view key) const;

  std::shared_ptr<const ConfigDocument> doc_;
  YAML::Node block_;
  std::span<const FieldSpec> schema_;
  std::string path_;
  std::string secret_prefix_;
};

}  // namespace notify::config
