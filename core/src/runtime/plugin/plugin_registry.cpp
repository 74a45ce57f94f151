#include "runtime/plugin/plugin_registry.hpp"

#include <boost/dll/library_info.hpp>

#include <algorithm>
#include <string_view>

namespace notify::plugin {
namespace {

// The host's fingerprint, computed in this translation unit with the same macro the plugins' export macro uses.
constexpr BuildFingerprint kHostFingerprint = NOTIFY_BUILD_FINGERPRINT;

// The fingerprint's parts, in the order a mismatch message lists them.
struct FingerprintPart {
  const char* label;
  const char* BuildFingerprint::*field;
};
constexpr FingerprintPart kFingerprintParts[] = {
    {"compiler", &BuildFingerprint::compiler},
    {"standard library", &BuildFingerprint::standard_library},
    {"sdk headers", &BuildFingerprint::sdk_headers},
    {"sanitizers", &BuildFingerprint::sanitizers},
};

std::string_view or_null(const char* s) { return s ? std::string_view(s) : std::string_view("(null)"); }

// Names every part that differs, so the message says what to rebuild with rather than only that something is off.
Status check_fingerprint(const BuildFingerprint& plugin, const std::string& who) {
  std::string differences;
  for (const auto& part : kFingerprintParts) {
    const std::string_view theirs = or_null(plugin.*part.field);
    const std::string_view ours = or_null(kHostFingerprint.*part.field);
    if (theirs == ours) continue;
    differences += (differences.empty() ? "" : "; ");
    differences += "built with " + std::string(part.label) + " '" + std::string(theirs) + "', this host has '" +
                   std::string(ours) + "'";
  }
  if (differences.empty()) return {};
  return Error{Errc::unsupported, who + ": " + differences +
                                      "; rebuild the plugin against this SDK build (same compiler and flags, "
                                      "notify_add_plugin)"};
}

std::string factory_symbol(PluginKind kind) {
  return std::string("notify_") + plugin_kind_name(kind) + "_factory_v" + std::to_string(kAbiVersion);
}

// Keeps the object and its library together; members are destroyed in reverse order, so the object goes first.
template <class T>
struct PluginObjectHolder {
  std::shared_ptr<boost::dll::shared_library> library;
  std::unique_ptr<T> object;
};

template <class T>
std::shared_ptr<T> hold(std::shared_ptr<boost::dll::shared_library> lib, std::unique_ptr<T> obj) {
  auto holder = std::make_shared<PluginObjectHolder<T>>();
  holder->library = std::move(lib);
  holder->object = std::move(obj);
  T* raw = holder->object.get();
  return std::shared_ptr<T>(std::move(holder), raw);
}

template <class T, class Factory>
Result<std::shared_ptr<T>> make(const LoadedPlugin& plugin, PluginKind kind, const PluginContext& ctx) {
  const std::string who = std::string("plugin '") + plugin.descriptor->name + "' (" + plugin.file.string() + ")";
  if (plugin.descriptor->kind != kind) {
    return Error{Errc::invalid_argument, who + " is a " + plugin_kind_name(plugin.descriptor->kind) +
                                             " plugin, not a " + plugin_kind_name(kind)};
  }
  try {
    auto& factory = plugin.library->get_alias<Factory>(factory_symbol(kind));
    auto made = factory(ctx);
    if (!made) return Error{made.error().code, who + ": " + made.error().message};
    if (!made.value()) return Error{Errc::internal, who + ": factory returned no object"};
    return hold<T>(plugin.library, std::move(made.value()));
  } catch (const std::exception& e) {
    return Error{Errc::internal, who + ": factory failed: " + e.what()};
  }
}

}  // namespace

const BuildFingerprint& host_fingerprint() noexcept { return kHostFingerprint; }

std::string describe(const BuildFingerprint& f) {
  std::string out;
  for (const auto& part : kFingerprintParts) {
    out += (out.empty() ? "" : ", ") + std::string(part.label) + " " + std::string(or_null(f.*part.field));
  }
  return out;
}

std::string plugin_file_name(PluginKind kind, std::string_view name) {
  return std::string("notify-") + plugin_kind_name(kind) + "-" + std::string(name) + ".so";
}

PluginRegistry::PluginRegistry(std::vector<std::filesystem::path> search_path) : search_path_(std::move(search_path)) {}

Result<LoadedPlugin> PluginRegistry::load(PluginKind kind, std::string_view name) {
  const std::string file_name = plugin_file_name(kind, name);
  std::string looked;
  for (const auto& dir : search_path_) {
    auto candidate = dir / file_name;
    std::error_code ec;
    if (std::filesystem::exists(candidate, ec)) return load_file(candidate, kind, name);
    looked += (looked.empty() ? "" : ", ") + dir.string();
  }
  return Error{Errc::not_found, std::string(plugin_kind_name(kind)) + " plugin '" + std::string(name) + "': no " +
                                    file_name + " in the plugin search path [" + looked +
                                    "] (set plugins.path in config or NOTIFY_PLUGIN_PATH)"};
}

Result<LoadedPlugin> PluginRegistry::load_file(const std::filesystem::path& file,
                                               std::optional<PluginKind> expected_kind,
                                               std::string_view expected_name) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(file, ec);
  const std::string key = (ec ? file : canonical).string();
  {
    std::lock_guard lock(mu_);
    if (auto it = loaded_.find(key); it != loaded_.end()) return it->second;
  }
  const std::string who = "plugin file " + file.string();
  if (!std::filesystem::exists(file, ec)) return Error{Errc::not_found, who + ": does not exist"};
  LoadedPlugin out;
  out.file = file;
  try {
    // rtld_now: resolve everything at load, so a missing symbol is reported here rather than mid-delivery.
    out.library = std::make_shared<boost::dll::shared_library>(
        boost::dll::fs::path(file.string()), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return Error{Errc::invalid_argument, who + ": cannot load: " + e.what()};
  }
  if (!out.library->has("notify_plugin_descriptor")) {
    return Error{Errc::invalid_argument, who + ": not an Enclave Notify plugin (no notify_plugin_descriptor symbol)"};
  }
  try {
    out.descriptor = &out.library->get_alias<const PluginDescriptor>("notify_plugin_descriptor");
  } catch (const std::exception& e) {
    return Error{Errc::invalid_argument, who + ": unreadable descriptor: " + e.what()};
  }
  const auto* d = out.descriptor;
  // abi_version is the first member in every ABI, so it can be read before anything else is trusted.
  if (d->abi_version != kAbiVersion) {
    return Error{Errc::unsupported, who + ": built for plugin ABI " + std::to_string(d->abi_version) +
                                        ", this host speaks ABI " + std::to_string(kAbiVersion) +
                                        " (rebuild the plugin against this SDK)"};
  }
  // Same ABI version, so the layout is known; now the build must be this one, before anything in it is called.
  if (auto same = check_fingerprint(d->build, who); !same) return same.error();
  if (d->kind != PluginKind::transport && d->kind != PluginKind::provider) {
    return Error{Errc::invalid_argument, who + ": unknown plugin kind " + std::to_string(static_cast<int>(d->kind))};
  }
  const std::string named = std::string("plugin '") + (d->name ? d->name : "?") + "' (" + file.string() + ")";
  if (expected_kind && d->kind != *expected_kind) {
    return Error{Errc::invalid_argument, named + " is a " + plugin_kind_name(d->kind) + " plugin, expected a " +
                                             plugin_kind_name(*expected_kind)};
  }
  if (!expected_name.empty() && (d->name == nullptr || expected_name != d->name)) {
    return Error{Errc::invalid_argument, named + ": file name says '" + std::string(expected_name) + "'"};
  }
  if (!out.library->has(factory_symbol(d->kind))) {
    return Error{Errc::invalid_argument, named + ": missing factory symbol " + factory_symbol(d->kind)};
  }
  std::lock_guard lock(mu_);
  loaded_.emplace(key, out);
  return out;
}

Result<std::shared_ptr<Transport>> PluginRegistry::make_transport(const LoadedPlugin& plugin,
                                                                  const PluginContext& ctx) {
  return make<Transport, TransportFactory>(plugin, PluginKind::transport, ctx);
}

Result<std::shared_ptr<Provider>> PluginRegistry::make_provider(const LoadedPlugin& plugin, const PluginContext& ctx) {
  return make<Provider, ProviderFactory>(plugin, PluginKind::provider, ctx);
}

std::vector<std::pair<std::filesystem::path, Result<LoadedPlugin>>> PluginRegistry::discover() {
  std::vector<std::filesystem::path> files;
  for (const auto& dir : search_path_) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const auto name = entry.path().filename().string();
      if (name.starts_with("notify-") && name.ends_with(".so")) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::pair<std::filesystem::path, Result<LoadedPlugin>>> out;
  for (const auto& f : files) out.emplace_back(f, load_file(f, std::nullopt, {}));
  return out;
}

}  // namespace notify::plugin
