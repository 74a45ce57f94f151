#include "host/host_runtime.hpp"

#include "enclave/identity/entropy.hpp"
#include "host/host_schema.hpp"
#include "runtime/config/yaml_config_view.hpp"
#include "runtime/log/log_config.hpp"

#include <cstdlib>

#ifndef NOTIFY_BUILD_PLUGIN_DIR
#define NOTIFY_BUILD_PLUGIN_DIR ""
#endif
#ifndef NOTIFY_INSTALL_PLUGIN_DIR
#define NOTIFY_INSTALL_PLUGIN_DIR "/usr/local/lib/notify/plugins"
#endif

namespace notify::host {

std::vector<std::filesystem::path> plugin_search_path(const config::ConfigDocument* doc) {
  std::vector<std::filesystem::path> out;
  if (const char* env = std::getenv("NOTIFY_PLUGIN_PATH"); env != nullptr) {
    std::string_view s = env;
    while (!s.empty()) {
      auto colon = s.find(':');
      if (colon != 0) out.emplace_back(std::string(s.substr(0, colon)));
      if (colon == std::string_view::npos) break;
      s.remove_prefix(colon + 1);
    }
  }
  if (doc != nullptr) {
    const YAML::Node p = doc->root()["plugins"];
    if (p && p["path"] && p["path"].IsSequence()) {
      for (const auto& item : p["path"]) out.emplace_back(item.Scalar());
    }
  }
  if (std::string_view(NOTIFY_BUILD_PLUGIN_DIR).size() > 0) out.emplace_back(NOTIFY_BUILD_PLUGIN_DIR);
  out.emplace_back(NOTIFY_INSTALL_PLUGIN_DIR);
  return out;
}

Result<std::unique_ptr<HostRuntime>> HostRuntime::create(const std::filesystem::path& config_file,
                                                         std::function<void()> request_shutdown, Mode mode) {
  const auto& registry = host_registry();
  if (auto st = registry.check(); !st) return Error{Errc::internal, "host registry: " + st.message()};
  std::unique_ptr<HostRuntime> rt(new HostRuntime());  // private constructor
  rt->request_shutdown_ = std::move(request_shutdown);
  rt->mode_ = mode;
  auto doc = config::ConfigDocument::load(config_file, config::process_env());
  if (!doc) return doc.error();
  rt->doc_ = std::move(doc.value());
  if (auto st = rt->doc_->validate(rt->doc_->root(), host_schema(), ""); !st) return st.error();
  try {
    if (auto st = logging::configure_logging(*registry.section(rt->doc_, "log")); !st) return st.error();
  } catch (const config::SchemaError& e) {
    return Error{Errc::internal, std::string("log: programming error: ") + e.what()};
  }

  rt->secrets_ = std::make_unique<secrets::MemorySecretStore>();
  auto* store = rt->secrets_.get();
  logging::LogSink::instance().set_redactor([store](std::string& line) { store->redact(line); });

  rt->log_ = logging::LogSink::instance().logger("host");
  rt->registry_ = std::make_unique<plugin::PluginRegistry>(plugin_search_path(rt->doc_.get()));
  rt->metrics_ = std::make_unique<metrics::HostMetrics>();
  rt->plugins_ = std::make_unique<plugin::PluginSet>(
      rt->doc_, *rt->registry_, *rt->secrets_,
      [](const std::string& component) { return logging::LogSink::instance().logger(component); }, *rt->metrics_);
  if (auto st = rt->plugins_->load_providers(); !st) return st.error();
  // Before any TLS: inside a Nitro enclave, mix the NSM's hardware randomness into OpenSSL's RNG (logs the source).
  if (mode == Mode::run) seed_rng_from_nsm_if_present(*rt->log_);
  if (auto st = rt->build_services(); !st) return st.error();
  return rt;
}

HostRuntime::~HostRuntime() {
  stop();
  services_.reset();  // services first: they hold references into the plugins and the secret store
  // The redactor points into secrets_, which dies with us.
  logging::LogSink::instance().set_redactor(nullptr);
}

Status HostRuntime::build_services() {
  const auto& registry = host_registry();
  const config::YamlConfigView root(doc_, doc_->root(), registry.schema(), "", "");
  std::string node;
  try {
    node = root.string_value("node");
  } catch (const config::SchemaError& e) {
    return Error{Errc::internal, std::string("node: programming error: ") + e.what()};
  }
  services_ = std::make_unique<services::ServiceContext>(
      registry, doc_, mode_,
      services::ServiceContext::Host{node, *plugins_, *secrets_, *log_, request_shutdown_, *metrics_});
  if (auto st = registry.build(*services_); !st) return st;
  if (services_->services().empty() && mode_ == Mode::run) {
    std::string names;
    for (const auto& f : registry.factories()) {
      if (f.build) names += std::string(names.empty() ? "" : ", ") + f.field.key;
    }
    return Error{Errc::invalid_argument, doc_->file() + ": nothing to run: declare at least one of " + names};
  }
  return {};
}

Status HostRuntime::start() {
  if (!services_) return {};
  auto& list = services_->services();
  for (; started_ < list.size(); ++started_) {
    if (auto st = list[started_]->start(); !st) {
      const std::string name(list[started_]->name());
      stop();
      return Error{st.code(), name + ": " + st.message()};
    }
  }
  return {};
}

void HostRuntime::stop() {
  // Reverse order: demo before forward, dispatcher before queue, so nothing sends into a stopped service.
  while (started_ > 0) {
    --started_;
    services_->services()[started_]->stop();
  }
}

}  // namespace notify::host
