#pragma once
/// @file config_view.hpp
/// How a plugin describes and reads its own config block.
///
/// A plugin declares a schema (an array of FieldSpec). Before the plugin's factory runs, the core checks the block
/// against it: unknown keys (with a "did you mean" hint), wrong types and missing required keys are reported as
/// `file:line:column: key: what is wrong`, and schema defaults are filled in. The plugin then reads already-validated
/// values through ConfigView and can name a key's location in its own messages.

#include <notify/abi.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace notify {

enum class FieldType : std::uint8_t {
  string = 0,
  integer = 1,  ///< 64-bit signed
  boolean = 2,
  duration = 3,     ///< "250ms", "30s", "5m", "1h", or a bare integer of milliseconds
  string_list = 4,  ///< YAML sequence of scalars
  string_map = 5,   ///< YAML mapping of scalar to scalar, free-form keys
  secret = 6,       ///< a string that goes to the SecretStore, never into dumps; read it with ConfigView::secret_name
  object = 7,       ///< nested mapping validated against `children`
  object_list = 8,  ///< sequence of mappings, each validated against `children`
};

/// One key of a config block. POD so that a plugin can declare its schema as a constexpr array.
struct FieldSpec {
  const char* key;
  FieldType type;
  bool required;
  /// Default as YAML scalar text (e.g. "30s", "50", "true"), or nullptr for none.
  const char* default_value;
  /// One line shown by `notify-host --list-plugins -v` and in error hints.
  const char* doc;
  /// For object / object_list: the nested schema.
  const FieldSpec* children = nullptr;
  std::size_t children_size = 0;
};

/// Read-only view of one validated config block.
class NOTIFY_API ConfigView {
 public:
  virtual ~ConfigView() = default;

  [[nodiscard]] virtual bool has(std::string_view key) const = 0;
  [[nodiscard]] virtual std::optional<std::string> get_string(std::string_view key) const = 0;
  [[nodiscard]] virtual std::optional<std::int64_t> get_int(std::string_view key) const = 0;
  [[nodiscard]] virtual std::optional<bool> get_bool(std::string_view key) const = 0;
  [[nodiscard]] virtual std::optional<std::chrono::milliseconds> get_duration(std::string_view key) const = 0;
  [[nodiscard]] virtual std::vector<std::string> get_string_list(std::string_view key) const = 0;
  [[nodiscard]] virtual std::map<std::string, std::string> get_string_map(std::string_view key) const = 0;
  [[nodiscard]] virtual std::unique_ptr<ConfigView> get_object(std::string_view key) const = 0;
  [[nodiscard]] virtual std::vector<std::unique_ptr<ConfigView>> get_object_list(std::string_view key) const = 0;

  /// The SecretStore name under which a `secret` field's value lives (e.g. "braze.api_key"). The name exists even
  /// when the field was left empty, so a secret provisioned later under that name is found.
  [[nodiscard]] virtual std::string secret_name(std::string_view key) const = 0;

  /// "file:line:column" of `key` (or of the block itself when key is empty), for the plugin's own error messages.
  [[nodiscard]] virtual std::string location(std::string_view key) const = 0;
};

}  // namespace notify
