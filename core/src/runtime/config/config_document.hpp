#pragma once
// A loaded config file: the YAML tree with every scalar already interpolated, where it came from (for file:line
// messages), and which paths hold secrets (for redacted dumps). Validation against FieldSpec schemas lives here too,
// because a schema is what tells us both the errors and the secret paths.

#include <notify/config_view.hpp>
#include <notify/result.hpp>

#include "runtime/config/interpolate.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace notify::config {

class ConfigDocument {
 public:
  /// Parses `file`, interpolates every scalar. Syntax and interpolation errors come back as
  /// "file:line:column: key: what is wrong", one per line, all of them.
  static Result<std::shared_ptr<ConfigDocument>> load(const std::filesystem::path& file, const EnvLookup& env);
  /// Same, from text (tests); `name` stands in for the file name in messages.
  static Result<std::shared_ptr<ConfigDocument>> parse(const std::string& text, const std::string& name,
                                                       const EnvLookup& env);

  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] const YAML::Node& root() const noexcept { return root_; }

  /// Checks `block` (found at dotted `path`, "" for the root) against `schema`; records its secret fields for
  /// redaction. Returns every problem, one per line.
  Status validate(const YAML::Node& block, std::span<const FieldSpec> schema, const std::string& path);

  /// "file:line:column" of a node.
  [[nodiscard]] std::string where(const YAML::Node& node) const;

  /// The whole resolved config as YAML, with secret fields and values taken from secret-looking variables
  /// (…KEY, …TOKEN, …SECRET, …PASSWORD) replaced by "<redacted>".
  [[nodiscard]] std::string dump_redacted() const;

  /// True if the dotted path is a secret field.
  [[nodiscard]] bool is_secret_path(const std::string& path) const { return redact_.count(path) != 0; }

 private:
  ConfigDocument() = default;
  void validate_into(const YAML::Node& block, std::span<const FieldSpec> schema, const std::string& path,
                     std::vector<std::string>& problems);
  void emit(YAML::Emitter& out, const YAML::Node& node, const std::string& path) const;

  std::string file_;
  YAML::Node root_;
  std::set<std::string> redact_;
};

/// Joins a dotted path: child_path("a", "b") == "a.b", child_path("", "b") == "b".
std::string child_path(const std::string& parent, const std::string& key);

/// The closest key of `schema` to `unknown` (edit distance ≤ 2 or a prefix), or "".
std::string did_you_mean(std::string_view unknown, std::span<const FieldSpec> schema);

/// Case-insensitive scalar booleans accepted in config: true/false, yes/no, on/off.
std::optional<bool> parse_bool(std::string_view text);

}  // namespace notify::config
