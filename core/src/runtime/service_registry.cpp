#include "runtime/service_registry.hpp"

#include "runtime/config/schema_check.hpp"
#include "runtime/log/log_sink.hpp"

#include <algorithm>

namespace notify::services {

ServiceRegistry::ServiceRegistry(std::vector<ServiceFactory> factories) : factories_(std::move(factories)) {
  schema_.reserve(factories_.size());
  for (const auto& f : factories_) schema_.push_back(f.field);
}

const ServiceFactory* ServiceRegistry::find(std::string_view key) const noexcept {
  for (const auto& f : factories_) {
    if (f.field.key != nullptr && key == f.field.key) return &f;
  }
  return nullptr;
}

Status ServiceRegistry::check() const {
  std::vector<std::string> problems;
  if (auto st = config::check_schema(schema_, ""); !st) problems.push_back(st.message());
  for (std::size_t i = 0; i < factories_.size(); ++i) {
    const auto& f = factories_[i];
    if (f.field.key == nullptr) continue;  // reported by check_schema
    const std::string key = f.field.key;
    for (const auto& need : f.needs) {
      auto earlier =
          std::find_if(factories_.begin(), factories_.begin() + static_cast<std::ptrdiff_t>(i),
                       [&](const ServiceFactory& e) { return e.field.key != nullptr && need == e.field.key; });
      if (earlier == factories_.begin() + static_cast<std::ptrdiff_t>(i)) {
        problems.push_back(key + ": needs '" + need + "', which is not an earlier section (it must start first)");
      }
    }
    if (f.enabled_key != nullptr) {
      const std::span<const FieldSpec> children{f.field.children, f.field.children_size};
      auto e = std::find_if(children.begin(), children.end(),
                            [&](const FieldSpec& c) { return std::string_view(c.key) == f.enabled_key; });
      if (e == children.end() || e->type != FieldType::boolean || e->default_value == nullptr) {
        problems.push_back(key + "." + f.enabled_key + ": enabled key is not a boolean with a default in the schema");
      }
    }
    if (f.build && f.field.type != FieldType::object)
      problems.push_back(key + ": a service's section must be an object");
  }
  if (problems.empty()) return {};
  std::string msg;
  for (const auto& p : problems) msg += (msg.empty() ? "" : "\n") + p;
  return Error{Errc::internal, msg};
}

bool ServiceRegistry::active(const std::shared_ptr<const config::ConfigDocument>& doc, std::string_view key) const {
  const YAML::Node& root = doc->root();
  const YAML::Node block = root[std::string(key)];
  if (!block.IsDefined() || block.IsNull()) return false;
  const auto* f = find(key);
  if (f == nullptr || f->enabled_key == nullptr) return true;
  return section(doc, key)->bool_value(f->enabled_key);  // check() makes sure the schema gives it a default
}

std::unique_ptr<config::YamlConfigView> ServiceRegistry::section(
    const std::shared_ptr<const config::ConfigDocument>& doc, std::string_view key) const {
  std::span<const FieldSpec> schema;
  if (const auto* f = find(key); f != nullptr && f->field.children != nullptr) {
    schema = {f->field.children, f->field.children_size};
  }
  const YAML::Node& root = doc->root();
  const YAML::Node found = root[std::string(key)];
  YAML::Node block = found.IsDefined() && found.IsMap() ? found : YAML::Node(YAML::NodeType::Map);
  const std::string name(key);
  return std::make_unique<config::YamlConfigView>(doc, block, schema, name, name);
}

Status ServiceRegistry::build(ServiceContext& context) const {
  for (const auto& f : factories_) {
    try {
      if (!f.build || !context.active(f.field.key)) continue;
      auto block = context.section(f.field.key);
      for (const auto& need : f.needs) {
        if (!context.active(need)) {
          return Error{Errc::invalid_argument,
                       block->location("") + ": " + f.field.key + ": needs a " + need + ": section"};
        }
      }
      if (auto st = f.build(context, *block); !st) return st;
    } catch (const config::SchemaError& e) {
      // Code read a key its schema does not guarantee: the code is wrong, not the file.
      return Error{Errc::internal, std::string(f.field.key) + ": programming error: " + e.what()};
    }
  }
  return {};
}

ServiceContext::ServiceContext(const ServiceRegistry& registry, std::shared_ptr<const config::ConfigDocument> doc,
                               BuildMode mode, Host host)
    : registry_(registry), doc_(std::move(doc)), mode_(mode), host_(std::move(host)) {}

ServiceContext::~ServiceContext() {
  // Services may hold references into what was kept; make the order explicit rather than rely on member order alone.
  services_.clear();
  kept_.clear();
}

std::shared_ptr<Log> ServiceContext::logger(const std::string& component) {
  return loggers_.emplace_back(logging::LogSink::instance().logger(component));
}

std::unique_ptr<config::YamlConfigView> ServiceContext::section(std::string_view key) const {
  return registry_.section(doc_, key);
}

Result<std::shared_ptr<Transport>> ServiceContext::transport(const config::YamlConfigView& view, std::string_view key) {
  auto t = host_.plugins.transport(view.string_value(key));
  if (!t) {
    return Error{t.error().code, view.location(key) + ": " + config::child_path(view.path(), std::string(key)) + ": " +
                                     t.error().message};
  }
  return t;
}

void ServiceContext::add(std::unique_ptr<Service> service) { services_.push_back(std::move(service)); }

}  // namespace notify::services
