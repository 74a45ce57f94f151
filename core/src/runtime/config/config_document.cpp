#include "runtime/config/config_document.hpp"

#include "runtime/config/duration.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

namespace notify::config {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool secret_looking_variable(const std::string& name) {
  const std::string n = lower(name);
  for (const char* word : {"key", "token", "secret", "password", "passwd", "credential"}) {
    if (n.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string at(const std::string& file, const YAML::Mark& m) {
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

// Interpolates every scalar below `node` in place; remembers paths whose value came from a secret-looking variable.
void interpolate_tree(YAML::Node node, const std::string& path, const std::string& file, const EnvLookup& env,
                      std::vector<std::string>& problems, std::set<std::string>& redact) {
  if (node.IsScalar()) {
    auto r = interpolate(node.Scalar(), env);
    if (!r) {
      problems.push_back(at(file, node.Mark()) + ": " + (path.empty() ? "<root>" : path) + ": " + r.error().message);
      return;
    }
    if (r->value != node.Scalar()) node = r->value;
    for (const auto& v : r->variables) {
      if (secret_looking_variable(v)) redact.insert(path);
    }
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      interpolate_tree(it->second, child_path(path, it->first.Scalar()), file, env, problems, redact);
    }
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      interpolate_tree(node[i], path + "[" + std::to_string(i) + "]", file, env, problems, redact);
    }
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

const char* type_name(FieldType t) {
  switch (t) {
    case FieldType::string:
      return "a string";
    case FieldType::integer:
      return "an integer";
    case FieldType::boolean:
      return "a boolean (true/false)";
    case FieldType::duration:
      return "a duration (e.g. 250ms, 30s, 5m)";
    case FieldType::string_list:
      return "a list of strings";
    case FieldType::string_map:
      return "a mapping of strings";
    case FieldType::secret:
      return "a string (secret)";
    case FieldType::object:
      return "a mapping";
    case FieldType::object_list:
      return "a list of mappings";
  }
  return "?";
}

bool is_integer(const std::string& s) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc{} && ptr == s.data() + s.size();
}

}  // namespace

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string t = lower(text);
  if (t == "true" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "no" || t == "off") return false;
  return std::nullopt;
}

std::string did_you_mean(std::string_view unknown, std::span<const FieldSpec> schema) {
  std::string best;
  std::size_t best_d = 3;
  for (const auto& f : schema) {
    std::string_view k = f.key;
    std::size_t d = edit_distance(lower(unknown), lower(k));
    if (d < best_d || (best.empty() && (k.starts_with(unknown) || unknown.starts_with(k)) && !unknown.empty())) {
      best_d = std::min(d, best_d);
      best = f.key;
    }
  }
  return best;
}

Result<std::shared_ptr<ConfigDocument>> ConfigDocument::load(const std::filesystem::path& file, const EnvLookup& env) {
  std::ifstream in(file);
  if (!in) return Error{Errc::not_found, file.string() + ": cannot open config file"};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), file.string(), env);
}

Result<std::shared_ptr<ConfigDocument>> ConfigDocument::parse(const std::string& text, const std::string& name,
                                                              const EnvLookup& env) {
  std::shared_ptr<ConfigDocument> doc(new ConfigDocument());  // private constructor; make_shared cannot reach it
  doc->file_ = name;
  try {
    doc->root_ = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Error{Errc::invalid_argument, at(name, e.mark) + ": YAML syntax error: " + e.msg};
  }
  if (doc->root_.IsNull()) doc->root_ = YAML::Node(YAML::NodeType::Map);
  if (!doc->root_.IsMap()) {
    return Error{Errc::invalid_argument, at(name, doc->root_.Mark()) + ": the top level must be a mapping"};
  }
  std::vector<std::string> problems;
  interpolate_tree(doc->root_, "", name, env, problems, doc->redact_);
  if (!problems.empty()) {
    std::string msg;
    for (const auto& p : problems) msg += (msg.empty() ? "" : "\n") + p;
    return Error{Errc::invalid_argument, msg};
  }
  return doc;
}

std::string ConfigDocument::where(const YAML::Node& node) const { return at(file_, node.Mark()); }

Status ConfigDocument::validate(const YAML::Node& block, std::span<const FieldSpec> schema, const std::string& path) {
  std::vector<std::string> problems;
  validate_into(block, schema, path, problems);
  if (problems.empty()) return {};
  std::string msg;
  for (const auto& p : problems) msg += (msg.empty() ? "" : "\n") + p;
  return Error{Errc::invalid_argument, msg};
}

void ConfigDocument::validate_into(const YAML::Node& block, std::span<const FieldSpec> schema, const std::string& path,
                                   std::vector<std::string>& problems) {
  const std::string shown = path.empty() ? "<root>" : path;
  if (block.IsNull() || !block.IsDefined()) {
    for (const auto& f : schema) {
      if (f.required)
        problems.push_back(at(file_, block.Mark()) + ": " + child_path(path, f.key) + ": required key is missing");
    }
    return;
  }
  if (!block.IsMap()) {
    problems.push_back(where(block) + ": " + shown + ": must be a mapping");
    return;
  }
  // Unknown keys first: they are the most common mistake and the hint helps most.
  for (auto it = block.begin(); it != block.end(); ++it) {
    const std::string key = it->first.Scalar();
    bool known = std::any_of(schema.begin(), schema.end(), [&](const FieldSpec& f) { return key == f.key; });
    if (!known) {
      std::string msg = at(file_, it->first.Mark()) + ": " + child_path(path, key) + ": unknown key";
      if (auto hint = did_you_mean(key, schema); !hint.empty()) msg += " (did you mean '" + hint + "'?)";
      problems.push_back(std::move(msg));
    }
  }
  for (const auto& f : schema) {
    const YAML::Node v = block[f.key];
    const std::string p = child_path(path, f.key);
    if (!v.IsDefined() || v.IsNull()) {
      if (f.required) problems.push_back(where(block) + ": " + p + ": required key is missing");
      if (f.type == FieldType::secret) redact_.insert(p);
      continue;
    }
    auto wrong = [&](const std::string& extra = {}) {
      problems.push_back(where(v) + ": " + p + ": must be " + type_name(f.type) + extra);
    };
    switch (f.type) {
      case FieldType::string:
      case FieldType::secret:
        if (!v.IsScalar()) wrong();
        if (f.type == FieldType::secret) redact_.insert(p);
        break;
      case FieldType::integer:
        if (!v.IsScalar() || !is_integer(v.Scalar())) wrong(", got '" + (v.IsScalar() ? v.Scalar() : "") + "'");
        break;
      case FieldType::boolean:
        if (!v.IsScalar() || !parse_bool(v.Scalar())) wrong(", got '" + (v.IsScalar() ? v.Scalar() : "") + "'");
        break;
      case FieldType::duration:
        if (!v.IsScalar() || !parse_duration(v.Scalar())) wrong(", got '" + (v.IsScalar() ? v.Scalar() : "") + "'");
        break;
      case FieldType::string_list:
        if (!v.IsSequence()) {
          wrong();
        } else {
          for (std::size_t i = 0; i < v.size(); ++i)
            if (!v[i].IsScalar())
              problems.push_back(where(v[i]) + ": " + p + "[" + std::to_string(i) + "]: must be a string");
        }
        break;
      case FieldType::string_map:
        if (!v.IsMap()) {
          wrong();
        } else {
          for (auto it = v.begin(); it != v.end(); ++it)
            if (!it->second.IsScalar() && !it->second.IsNull())
              problems.push_back(where(it->second) + ": " + child_path(p, it->first.Scalar()) + ": must be a string");
        }
        break;
      case FieldType::object:
        if (!v.IsMap()) {
          wrong();
        } else if (f.children != nullptr) {
          validate_into(v, {f.children, f.children_size}, p, problems);
        }
        break;
      case FieldType::object_list:
        if (!v.IsSequence()) {
          wrong();
        } else {
          for (std::size_t i = 0; i < v.size(); ++i) {
            const std::string ip = p + "[" + std::to_string(i) + "]";
            if (!v[i].IsMap()) {
              problems.push_back(where(v[i]) + ": " + ip + ": must be a mapping");
            } else if (f.children != nullptr) {
              validate_into(v[i], {f.children, f.children_size}, ip, problems);
            }
          }
        }
        break;
    }
  }
}

void ConfigDocument::emit(YAML::Emitter& out, const YAML::Node& node, const std::string& path) const {
  if (redact_.count(path) != 0 && !node.IsMap() && !node.IsSequence()) {
    out << (node.IsNull() || node.Scalar().empty() ? std::string("") : std::string("<redacted>"));
    return;
  }
  if (node.IsMap()) {
    out << YAML::BeginMap;
    for (auto it = node.begin(); it != node.end(); ++it) {
      out << YAML::Key << it->first.Scalar() << YAML::Value;
      emit(out, it->second, child_path(path, it->first.Scalar()));
    }
    out << YAML::EndMap;
  } else if (node.IsSequence()) {
    out << YAML::BeginSeq;
    for (std::size_t i = 0; i < node.size(); ++i) emit(out, node[i], path + "[" + std::to_string(i) + "]");
    out << YAML::EndSeq;
  } else if (node.IsNull()) {
    out << YAML::Null;
  } else {
    out << node.Scalar();
  }
}

std::string ConfigDocument::dump_redacted() const {
  YAML::Emitter out;
  emit(out, root_, "");
  return out.c_str();
}

}  // namespace notify::config
