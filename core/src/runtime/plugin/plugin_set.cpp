#include "runtime/plugin/plugin_set.hpp"

namespace notify::plugin {
namespace {

// What a plugin object may reference for its whole life: its config view, logger and metrics. Kept alive by the
// shared_ptr handed out, together with the object (declared last, so destroyed first).
template <class T>
struct Instance {
  std::unique_ptr<config::YamlConfigView> view;
  std::shared_ptr<Log> log;
  std::shared_ptr<ProviderMetrics> metrics;
  std::shared_ptr<T> object;
};

template <class T>
std::shared_ptr<T> keep_with_context(std::shared_ptr<Instance<T>> inst) {
  T* raw = inst->object.get();
  return std::shared_ptr<T>(std::move(inst), raw);
}

std::span<const FieldSpec> schema_of(const LoadedPlugin& p) {
  return {p.descriptor->config_schema, p.descriptor->config_schema_size};
}

}  // namespace

PluginSet::PluginSet(std::shared_ptr<config::ConfigDocument> doc, PluginRegistry& registry, SecretStore& secrets,
                     LoggerFactory loggers, metrics::HostMetrics& metrics)
    : doc_(std::move(doc)), registry_(registry), secrets_(secrets), loggers_(std::move(loggers)), metrics_(metrics) {}

Result<std::shared_ptr<Transport>> PluginSet::transport(std::string_view name) noexcept {
  try {
    std::lock_guard lock(mu_);
    if (auto it = transports_.find(name); it != transports_.end()) return it->second;
    auto loaded = registry_.load(PluginKind::transport, name);
    if (!loaded) return loaded.error();
    const std::string path = "transports." + std::string(name);
    YAML::Node block;
    if (doc_->root()["transports"] && doc_->root()["transports"][std::string(name)]) {
      block = doc_->root()["transports"][std::string(name)];
    } else {
      block = YAML::Node(YAML::NodeType::Map);
    }
    if (auto st = doc_->validate(block, schema_of(*loaded), path); !st) return st.error();
    auto inst = std::make_shared<Instance<Transport>>();
    inst->view = std::make_unique<config::YamlConfigView>(doc_, block, schema_of(*loaded), path, std::string(name));
    inst->log = loggers_(std::string(name));
    inst->metrics = metrics::HostMetrics::discarding();  // a transport is no provider: no provider series
    PluginContext ctx{name, *inst->view, *inst->log, secrets_, *this, *inst->metrics};
    auto made = registry_.make_transport(*loaded, ctx);
    if (!made) return made.error();
    inst->object = std::move(made.value());
    auto shared = keep_with_context(std::move(inst));
    transports_.emplace(std::string(name), shared);
    return shared;
  } catch (const std::exception& e) {
    return Error{Errc::internal, "transport '" + std::string(name) + "': " + e.what()};
  }
}

Status PluginSet::load_providers() {
  const YAML::Node list = doc_->root()["providers"];
  if (!list || list.IsNull()) return {};
  if (!list.IsSequence())
    return Error{Errc::invalid_argument, doc_->where(list) + ": providers: must be a list of mappings"};
  std::string problems;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node entry = list[i];
    const std::string path = "providers[" + std::to_string(i) + "]";
    if (!entry.IsMap() || !entry["plugin"] || !entry["plugin"].IsScalar()) {
      problems +=
          (problems.empty() ? "" : "\n") + doc_->where(entry) + ": " + path + ".plugin: required key is missing";
      continue;
    }
    const std::string plugin_name = entry["plugin"].Scalar();
    const std::string instance = entry["name"] && entry["name"].IsScalar() ? entry["name"].Scalar() : plugin_name;
    for (const auto& p : providers_) {
      if (p.name == instance) {
        problems += (problems.empty() ? "" : "\n") + doc_->where(entry) + ": " + path + ": duplicate provider name '" +
                    instance + "'";
      }
    }
    auto loaded = registry_.load(PluginKind::provider, plugin_name);
    if (!loaded) {
      problems += (problems.empty() ? "" : "\n") + doc_->where(entry["plugin"]) + ": " + path +
                  ".plugin: " + loaded.error().message;
      continue;
    }
    YAML::Node block = entry["config"] ? entry["config"] : YAML::Node(YAML::NodeType::Map);
    if (auto st = doc_->validate(block, schema_of(*loaded), path + ".config"); !st) {
      problems += (problems.empty() ? "" : "\n") + st.message();
      continue;
    }
    // An instance that is off is checked like any other (so turning it on later meets no config error) and then
    // left out: no secret stored, no provider made, not a default, not in health; notifications naming it are
    // answered as for an unknown name.
    if (entry["enabled"] && !config::parse_bool(entry["enabled"].Scalar()).value_or(true)) {
      loggers_(instance)->info("provider '" + instance + "' (" + plugin_name + ") is off (enabled: false)");
      continue;
    }
    auto inst = std::make_shared<Instance<Provider>>();
    inst->view = std::make_unique<config::YamlConfigView>(doc_, block, schema_of(*loaded), path + ".config", instance);
    // Secret fields go to the SecretStore now; the plugin reads them from there at each use.
    std::vector<std::string> secret_names;
    for (const auto& f : schema_of(*loaded)) {
      if (f.type != FieldType::secret) continue;
      secret_names.push_back(inst->view->secret_name(f.key));
      auto raw = inst->view->raw_secret(f.key);
      if (raw && !raw->empty()) secrets_.put(inst->view->secret_name(f.key), Secret(*raw), SecretOrigin::config);
    }
    inst->log = loggers_(instance);
    inst->metrics = metrics_.for_provider(instance);
    PluginContext ctx{instance, *inst->view, *inst->log, secrets_, *this, *inst->metrics};
    auto made = registry_.make_provider(*loaded, ctx);
    if (!made) {
      problems += (problems.empty() ? "" : "\n") + doc_->where(entry) + ": " + path + ": " + made.error().message;
      continue;
    }
    inst->object = std::move(made.value());
    const bool is_default = entry["default"] && config::parse_bool(entry["default"].Scalar()).value_or(false);
    providers_.push_back(
        {instance, plugin_name, is_default, keep_with_context(std::move(inst)), std::move(secret_names)});
  }
  if (!problems.empty()) return Error{Errc::invalid_argument, problems};
  // With one provider, it is the default; with several, at most one may say so.
  int defaults = 0;
  for (const auto& p : providers_) defaults += p.is_default ? 1 : 0;
  if (defaults > 1)
    return Error{Errc::invalid_argument, doc_->where(list) + ": providers: more than one has default: true"};
  if (defaults == 0 && providers_.size() == 1) providers_.front().is_default = true;
  return {};
}

const ProviderInstance* PluginSet::find_provider(std::string_view name) const noexcept {
  for (const auto& p : providers_) {
    if (name.empty() ? p.is_default : p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace notify::plugin
