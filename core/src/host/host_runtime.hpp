#pragma once
// Everything one notify-host runs, built from its config file: logging, secrets, plugins, and the services its
// config declares (serve, forward, demo, ...), built by walking the host's registry (host_schema.hpp). No "parent"
// or "enclave" mode exists: only config.

#include "runtime/config/config_document.hpp"
#include "runtime/log/log_sink.hpp"
#include "runtime/plugin/plugin_registry.hpp"
#include "runtime/plugin/plugin_set.hpp"
#include "runtime/secret_store.hpp"
#include "runtime/service_registry.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

namespace notify::host {

/// NOTIFY_PLUGIN_PATH entries, then `plugins.path`, then the build tree's and the install prefix's plugin folders.
std::vector<std::filesystem::path> plugin_search_path(const config::ConfigDocument* doc);

class HostRuntime {
 public:
  /// Loads and validates the config, configures logging, loads plugins and builds services (nothing runs yet).
  /// How much create() builds: everything, or only what validation needs (--check-config: plugins are loaded and
  /// their blocks checked, but no attestation device is opened and no key is generated).
  using Mode = services::BuildMode;

  /// `request_shutdown` is how a service asks the host to exit (e.g. demo.exit_when_done).
  static Result<std::unique_ptr<HostRuntime>> create(const std::filesystem::path& config_file,
                                                     std::function<void()> request_shutdown = {},
                                                     Mode mode = Mode::run);
  ~HostRuntime();

  Status start();
  /// Stops services in reverse order of start, letting each finish in-flight work.
  void stop();

  [[nodiscard]] const config::ConfigDocument& document() const noexcept { return *doc_; }
  [[nodiscard]] secrets::MemorySecretStore& secrets() noexcept { return *secrets_; }
  [[nodiscard]] Log& log() noexcept { return *log_; }

 private:
  HostRuntime() = default;
  Status build_services();

  std::shared_ptr<config::ConfigDocument> doc_;
  std::unique_ptr<secrets::MemorySecretStore> secrets_;
  std::unique_ptr<plugin::PluginRegistry> registry_;
  std::unique_ptr<metrics::HostMetrics> metrics_;  // before plugins_: every instance's ProviderMetrics is in it
  std::unique_ptr<plugin::PluginSet> plugins_;
  std::shared_ptr<Log> log_;
  // The services and what they share; declared after everything they reference, so destroyed first.
  std::unique_ptr<services::ServiceContext> services_;
  std::size_t started_ = 0;
  std::function<void()> request_shutdown_;
  Mode mode_ = Mode::run;
};

}  // namespace notify::host
