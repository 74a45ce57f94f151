#pragma once
// The plugins one host runs, made from its config: transports on first use (configured by the optional
// `transports.<name>` block) and the provider instances of the `providers:` list. Also the SDK's TransportRegistry,
// so providers can ask for their egress transport by name.

#include "runtime/config/config_document.hpp"
#include "runtime/config/yaml_config_view.hpp"
#include "runtime/metrics/host_metrics.hpp"
#include "runtime/plugin/plugin_registry.hpp"

#include <notify/plugin.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace notify::plugin {

struct ProviderInstance {
  std::string name;    ///< instance name from config
  std::string plugin;  ///< plugin name
  bool is_default = false;
  std::shared_ptr<Provider> provider;
  std::vector<std::string> secret_names;  ///< the store names of the plugin's `secret` fields, e.g. "braze.api_key"
};

/// Makes a component logger for a plugin instance (the host passes LogSink::logger).
using LoggerFactory = std::function<std::shared_ptr<Log>(const std::string& component)>;

class PluginSet final : public TransportRegistry {
 public:
  /// `metrics` receives every instance's ProviderMetrics and must outlive this set.
  PluginSet(std::shared_ptr<config::ConfigDocument> doc, PluginRegistry& registry, SecretStore& secrets,
            LoggerFactory loggers, metrics::HostMetrics& metrics);

  Result<std::shared_ptr<Transport>> transport(std::string_view name) noexcept override;

  /// Validates and creates every entry of `providers:`; moves `secret` fields into the SecretStore.
  Status load_providers();
  /// Validates every plugin block without keeping objects (for --check-config): transports named anywhere + providers.
  [[nodiscard]] const std::vector<ProviderInstance>& providers() const noexcept { return providers_; }
  /// The instance called `name`, or the default one when name is empty; nullptr if none.
  [[nodiscard]] const ProviderInstance* find_provider(std::string_view name) const noexcept;

 private:
  std::shared_ptr<config::ConfigDocument> doc_;
  PluginRegistry& registry_;
  SecretStore& secrets_;
  LoggerFactory loggers_;
  metrics::HostMetrics& metrics_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Transport>, std::less<>> transports_;
  std::vector<ProviderInstance> providers_;
};

}  // namespace notify::plugin
