#pragma once
// The sections a host's config can hold, each described once by a factory: its top-level key with its schema, the
// sections it needs, and how it builds its service(s). The host's schema is assembled from the registry, and the host
// builds its services by walking it. The registry's order is the start order (stop is the reverse), so a service
// starts after what it uses and stops before it. Factories live next to what they configure (runtime/, parent/,
// enclave/); only the composition root (host/) lists them all.

#include "runtime/config/config_document.hpp"
#include "runtime/config/yaml_config_view.hpp"
#include "runtime/plugin/plugin_set.hpp"
#include "runtime/secret_store.hpp"
#include "runtime/service.hpp"

#include <notify/config_view.hpp>
#include <notify/log.hpp>
#include <notify/result.hpp>
#include <notify/transport.hpp>

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <typeindex>
#include <vector>

namespace notify::services {

/// How much factories build. `check` (notify-host --check-config) reads and checks every value and loads plugins, but
/// opens nothing outside the process: no attestation device, no generated key, no queue file, no listening socket.
enum class BuildMode { run, check };

class ServiceContext;

/// Builds a section's service(s) from its validated block (schema defaults filled in) and adds them to `context`.
using BuildFn = std::function<Status(ServiceContext& context, const config::YamlConfigView& section)>;

/// One top-level config key.
struct ServiceFactory {
  /// The key, its type, its doc line and its schema (children), as the host's schema shows them.
  FieldSpec field{};
  /// Top-level sections this one uses. Each must come earlier in the registry; declaring this section without them
  /// is a config error at this section's file:line ("queue: needs a forward: section").
  std::vector<std::string> needs;
  /// A boolean key of the section that turns it off (e.g. "enabled"). Off: neither checked for needs nor built.
  const char* enabled_key = nullptr;
  /// Empty for keys that only configure (log, secrets, ...): the runtime or another factory reads them.
  BuildFn build;
};

class ServiceRegistry {
 public:
  explicit ServiceRegistry(std::vector<ServiceFactory> factories);
  ServiceRegistry(const ServiceRegistry&) = delete;
  ServiceRegistry& operator=(const ServiceRegistry&) = delete;

  [[nodiscard]] std::span<const ServiceFactory> factories() const noexcept { return factories_; }
  /// One field per factory, in registry order: the whole schema of a host's config file.
  [[nodiscard]] std::span<const FieldSpec> schema() const noexcept { return schema_; }
  [[nodiscard]] const ServiceFactory* find(std::string_view key) const noexcept;

  /// The table itself: unique keys, needs that name earlier factories, enabled keys that are defaulted booleans of
  /// their section, every schema well formed (config::check_schema). Problems are programming errors (Errc::internal).
  [[nodiscard]] Status check() const;

  /// Whether `key` is in the file (present, not null) and not turned off by its enabled key.
  [[nodiscard]] bool active(const std::shared_ptr<const config::ConfigDocument>& doc, std::string_view key) const;
  /// Top-level `key` as a view with its schema; an empty block when the file does not declare it (defaults only).
  [[nodiscard]] std::unique_ptr<config::YamlConfigView> section(
      const std::shared_ptr<const config::ConfigDocument>& doc, std::string_view key) const;

  /// Builds every active section in registry order, after checking its needs. `context` must be over a document
  /// validated against schema(). The first failure stops the walk and is returned.
  Status build(ServiceContext& context) const;

 private:
  std::vector<ServiceFactory> factories_;
  std::vector<FieldSpec> schema_;
};

/// What a factory builds with, and where its results go. Owns the services it is given and the objects they share,
/// and destroys the services first.
class ServiceContext {
 public:
  struct Host {
    std::string node;  ///< this host's name (`node`), for link handshakes and health
    plugin::PluginSet& plugins;
    secrets::MemorySecretStore& secrets;
    Log& log;                                ///< the host's own logger, for notices about the config
    std::function<void()> request_shutdown;  ///< how a service asks the host to exit (demo.exit_when_done)
    metrics::HostMetrics& metrics;           ///< the host's registry: plugins' series, the enclave's counters
  };

  ServiceContext(const ServiceRegistry& registry, std::shared_ptr<const config::ConfigDocument> doc, BuildMode mode,
                 Host host);
  ServiceContext(const ServiceContext&) = delete;
  ServiceContext& operator=(const ServiceContext&) = delete;
  ~ServiceContext();

  [[nodiscard]] BuildMode mode() const noexcept { return mode_; }
  [[nodiscard]] bool checking() const noexcept { return mode_ == BuildMode::check; }
  [[nodiscard]] const std::string& node() const noexcept { return host_.node; }
  [[nodiscard]] plugin::PluginSet& plugins() noexcept { return host_.plugins; }
  [[nodiscard]] secrets::MemorySecretStore& secrets() noexcept { return host_.secrets; }
  [[nodiscard]] Log& log() noexcept { return host_.log; }
  [[nodiscard]] metrics::HostMetrics& metrics() noexcept { return host_.metrics; }
  [[nodiscard]] const std::function<void()>& request_shutdown() const noexcept { return host_.request_shutdown; }

  /// A component logger ("link", "dispatch", ...), kept alive as long as the services.
  std::shared_ptr<Log> logger(const std::string& component);
  /// Another top-level section (e.g. serve reads `secrets`), with defaults when the file does not declare it.
  [[nodiscard]] std::unique_ptr<config::YamlConfigView> section(std::string_view key) const;
  [[nodiscard]] bool active(std::string_view key) const { return registry_.active(doc_, key); }
  /// The transport plugin named by `key` of `view`; an error names the key's file:line ("…: serve.transport: …").
  Result<std::shared_ptr<Transport>> transport(const config::YamlConfigView& view, std::string_view key);

  /// Adds a service; services start in the order they are added.
  void add(std::unique_ptr<Service> service);
  [[nodiscard]] std::vector<std::unique_ptr<Service>>& services() noexcept { return services_; }

  /// Keeps an object alive until every service is gone (e.g. the queue that dispatch and ingress share).
  template <class T>
  T& keep(std::unique_ptr<T> object) {
    T& ref = *object;
    kept_.push_back(std::shared_ptr<void>(std::move(object)));
    return ref;
  }
  /// Offers an object to later factories, found by its type (e.g. forward offers its ForwardService).
  template <class T>
  void provide(T& object) {
    provided_[std::type_index(typeid(T))] = &object;
  }
  /// What an earlier factory provided, or nullptr (e.g. nothing provides the queue in check mode).
  template <class T>
  [[nodiscard]] T* find() const {
    auto it = provided_.find(std::type_index(typeid(T)));
    return it == provided_.end() ? nullptr : static_cast<T*>(it->second);
  }

 private:
  const ServiceRegistry& registry_;
  std::shared_ptr<const config::ConfigDocument> doc_;
  BuildMode mode_;
  Host host_;
  std::map<std::type_index, void*> provided_;
  // Destroyed in reverse: services first, then what they share, then the loggers they may hold by reference.
  std::vector<std::shared_ptr<Log>> loggers_;
  std::vector<std::shared_ptr<void>> kept_;
  std::vector<std::unique_ptr<Service>> services_;
};

}  // namespace notify::services
