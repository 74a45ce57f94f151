#include "runtime/config/schema_check.hpp"

#include "runtime/config/config_document.hpp"
#include "runtime/config/duration.hpp"

#include <charconv>
#include <cstdint>
#include <set>
#include <vector>

namespace notify::config {
namespace {

bool parses_as(FieldType type, std::string_view text) {
  switch (type) {
    case FieldType::string:
    case FieldType::secret:
    case FieldType::string_list:  // comma-separated
      return true;
    case FieldType::integer: {
      std::int64_t v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      return !text.empty() && ec == std::errc{} && ptr == text.data() + text.size();
    }
    case FieldType::boolean:
      return parse_bool(text).has_value();
    case FieldType::duration:
      return parse_duration(text).has_value();
    case FieldType::string_map:
    case FieldType::object:
    case FieldType::object_list:
      return false;  // no scalar text can stand for them; their defaults come from their children
  }
  return false;
}

void check_into(std::span<const FieldSpec> schema, const std::string& path, std::vector<std::string>& problems) {
  std::set<std::string_view> seen;
  for (const auto& f : schema) {
    if (f.key == nullptr || *f.key == '\0') {
      problems.push_back((path.empty() ? std::string("<root>") : path) + ": a field has no key");
      continue;
    }
    const std::string p = child_path(path, f.key);
    if (!seen.insert(f.key).second) problems.push_back(p + ": declared twice");
    if (f.required && f.default_value != nullptr) {
      problems.push_back(p + ": required and defaulted ('" + f.default_value + "'): the default can never apply");
    }
    if (f.default_value != nullptr && !parses_as(f.type, f.default_value)) {
      problems.push_back(p + ": default '" + f.default_value + "' does not parse as the key's type");
    }
    const bool nested = f.type == FieldType::object || f.type == FieldType::object_list;
    if (!nested && f.children != nullptr) problems.push_back(p + ": only objects have children");
    if ((f.children == nullptr) != (f.children_size == 0))
      problems.push_back(p + ": children and their count disagree");
    if (nested && f.children != nullptr) check_into({f.children, f.children_size}, p, problems);
  }
}

}  // namespace

Status check_schema(std::span<const FieldSpec> schema, const std::string& path) {
  std::vector<std::string> problems;
  check_into(schema, path, problems);
  if (problems.empty()) return {};
  std::string msg;
  for (const auto& p : problems) msg += (msg.empty() ? "" : "\n") + p;
  return Error{Errc::internal, msg};
}

}  // namespace notify::config
