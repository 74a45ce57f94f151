#include "runtime/config/yaml_config_view.hpp"

#include "runtime/config/duration.hpp"

#include <charconv>

namespace notify::config {

YamlConfigView::YamlConfigView(std::shared_ptr<const ConfigDocument> doc, YAML::Node block,
                               std::span<const FieldSpec> schema, std::string path, std::string secret_prefix)
    : doc_(std::move(doc)),
      block_(block),  // YAML::Node has no move constructor: a copy shares the same node
      schema_(schema),
      path_(std::move(path)),
      secret_prefix_(std::move(secret_prefix)) {}

const FieldSpec* YamlConfigView::field(std::string_view key) const {
  for (const auto& f : schema_)
    if (key == f.key) return &f;
  return nullptr;
}

bool YamlConfigView::has(std::string_view key) const {
  if (!block_.IsMap()) return false;
  const YAML::Node& b = block_;
  const YAML::Node v = b[std::string(key)];
  return v.IsDefined() && !v.IsNull();
}

std::optional<std::string> YamlConfigView::scalar(std::string_view key) const {
  if (block_.IsMap()) {
    const YAML::Node& b = block_;
    const YAML::Node v = b[std::string(key)];
    if (v.IsDefined() && v.IsScalar()) return v.Scalar();
  }
  if (const auto* f = field(key); f != nullptr && f->default_value != nullptr) return std::string(f->default_value);
  return std::nullopt;
}

std::optional<std::string> YamlConfigView::get_string(std::string_view key) const {
  // Secret fields are only reachable through the SecretStore, so that plugins never copy them around.
  if (const auto* f = field(key); f != nullptr && f->type == FieldType::secret) return std::nullopt;
  return scalar(key);
}

std::optional<std::string> YamlConfigView::raw_secret(std::string_view key) const { return scalar(key); }

std::string YamlConfigView::guaranteed(std::string_view key, FieldType type) const {
  const std::string name = child_path(path_, std::string(key));
  const auto* f = field(key);
  if (f == nullptr) throw SchemaError(name + ": read as always set, but the schema has no such key");
  if (f->type != type) throw SchemaError(name + ": read as another type than its schema declares");
  if (!f->required && f->default_value == nullptr) {
    throw SchemaError(name + ": read as always set, but the schema neither requires it nor gives it a default");
  }
  auto s = scalar(key);
  // Only a block that skipped validation can lack a required key.
  if (!s) throw SchemaError(name + ": required key read from a block that was not validated");
  return *s;
}

void YamlConfigView::unparsable(std::string_view key, const std::string& text, const char* type) const {
  // Validation checked the file's value and check_schema the default: only an unvalidated block gets here.
  throw SchemaError(child_path(path_, std::string(key)) + ": '" + text + "' is not " + type +
                    " (unvalidated block or bad default)");
}

std::string YamlConfigView::string_value(std::string_view key) const { return guaranteed(key, FieldType::string); }

std::int64_t YamlConfigView::int_value(std::string_view key) const {
  const auto s = guaranteed(key, FieldType::integer);
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) unparsable(key, s, "an integer");
  return v;
}

bool YamlConfigView::bool_value(std::string_view key) const {
  const auto s = guaranteed(key, FieldType::boolean);
  auto v = parse_bool(s);
  if (!v) unparsable(key, s, "a boolean");
  return *v;
}

std::chrono::milliseconds YamlConfigView::duration_value(std::string_view key) const {
  const auto s = guaranteed(key, FieldType::duration);
  auto v = parse_duration(s);
  if (!v) unparsable(key, s, "a duration");
  return *v;
}

std::optional<std::int64_t> YamlConfigView::get_int(std::string_view key) const {
  auto s = scalar(key);
  if (!s) return std::nullopt;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc{} || ptr != s->data() + s->size()) return std::nullopt;
  return v;
}

std::optional<bool> YamlConfigView::get_bool(std::string_view key) const {
  auto s = scalar(key);
  if (!s) return std::nullopt;
  return parse_bool(*s);
}

std::optional<std::chrono::milliseconds> YamlConfigView::get_duration(std::string_view key) const {
  auto s = scalar(key);
  if (!s) return std::nullopt;
  return parse_duration(*s);
}

std::vector<std::string> YamlConfigView::get_string_list(std::string_view key) const {
  std::vector<std::string> out;
  if (block_.IsMap()) {
    const YAML::Node& b = block_;
    const YAML::Node v = b[std::string(key)];
    if (v.IsDefined() && v.IsSequence()) {
      for (const auto& item : v)
        if (item.IsScalar()) out.push_back(item.Scalar());
      return out;
    }
  }
  if (const auto* f = field(key); f != nullptr && f->default_value != nullptr) {
    // Defaults for lists are comma-separated: "apple,android".
    std::string_view d = f->default_value;
    while (!d.empty()) {
      auto comma = d.find(',');
      out.emplace_back(d.substr(0, comma));
      if (comma == std::string_view::npos) break;
      d.remove_prefix(comma + 1);
    }
  }
  return out;
}

std::map<std::string, std::string> YamlConfigView::get_string_map(std::string_view key) const {
  std::map<std::string, std::string> out;
  if (!block_.IsMap()) return out;
  const YAML::Node& b = block_;
  const YAML::Node v = b[std::string(key)];
  if (!v.IsDefined() || !v.IsMap()) return out;
  for (auto it = v.begin(); it != v.end(); ++it)
    out[it->first.Scalar()] = it->second.IsScalar() ? it->second.Scalar() : std::string();
  return out;
}

std::unique_ptr<YamlConfigView> YamlConfigView::object(std::string_view key) const {
  const auto* f = field(key);
  std::span<const FieldSpec> schema;
  if (f != nullptr && f->children != nullptr) schema = {f->children, f->children_size};
  // yaml-cpp: assigning a missing ("zombie") node throws, copy-constructing one does not.
  const YAML::Node& b = block_;
  const YAML::Node found = block_.IsMap() ? b[std::string(key)] : YAML::Node();
  YAML::Node child = found.IsDefined() && found.IsMap() ? found : YAML::Node(YAML::NodeType::Map);
  return std::make_unique<YamlConfigView>(doc_, child, schema, child_path(path_, std::string(key)),
                                          child_path(secret_prefix_, std::string(key)));
}

std::unique_ptr<ConfigView> YamlConfigView::get_object(std::string_view key) const { return object(key); }

std::vector<std::unique_ptr<YamlConfigView>> YamlConfigView::object_list(std::string_view key) const {
  std::vector<std::unique_ptr<YamlConfigView>> out;
  const auto* f = field(key);
  std::span<const FieldSpec> schema;
  if (f != nullptr && f->children != nullptr) schema = {f->children, f->children_size};
  if (!block_.IsMap()) return out;
  const YAML::Node& b = block_;
  const YAML::Node v = b[std::string(key)];
  if (!v.IsDefined() || !v.IsSequence()) return out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string p = child_path(path_, std::string(key)) + "[" + std::to_string(i) + "]";
    out.push_back(std::make_unique<YamlConfigView>(doc_, v[i], schema, p, secret_prefix_));
  }
  return out;
}

std::vector<std::unique_ptr<ConfigView>> YamlConfigView::get_object_list(std::string_view key) const {
  std::vector<std::unique_ptr<ConfigView>> out;
  for (auto& item : object_list(key)) out.push_back(std::move(item));
  return out;
}

std::string YamlConfigView::secret_name(std::string_view key) const {
  return child_path(secret_prefix_, std::string(key));
}

std::string YamlConfigView::location(std::string_view key) const {
  if (!key.empty() && block_.IsMap()) {
    const YAML::Node& b = block_;
    const YAML::Node v = b[std::string(key)];
    if (v.IsDefined()) return doc_->where(v);
  }
  return doc_->where(block_);
}

}  // namespace notify::config
