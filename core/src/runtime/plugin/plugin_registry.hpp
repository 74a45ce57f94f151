#pragma once
// Finds plugin libraries by kind and name in a search path, checks their descriptor (ABI version, build fingerprint,
// kind), and makes objects with their factories. Libraries are never unloaded while the registry lives, and every
// object a plugin made also holds its library (aliasing shared_ptr), so plugin code outlives everything it created.

#include <notify/plugin.hpp>

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace notify::plugin {

struct LoadedPlugin {
  std::filesystem::path file;
  const PluginDescriptor* descriptor = nullptr;
  std::shared_ptr<boost::dll::shared_library> library;
};

/// This host's build fingerprint: what every plugin's descriptor must carry (see notify/abi.hpp).
const BuildFingerprint& host_fingerprint() noexcept;
/// One line for people: "compiler gcc 12.2.0 (c++abi 1017), standard library ..., sdk headers ..., sanitizers none".
std::string describe(const BuildFingerprint& fingerprint);

/// File name of a plugin: notify-<kind>-<name>.so, e.g. notify-transport-tcp.so.
std::string plugin_file_name(PluginKind kind, std::string_view name);

class PluginRegistry {
 public:
  explicit PluginRegistry(std::vector<std::filesystem::path> search_path);

  [[nodiscard]] const std::vector<std::filesystem::path>& search_path() const noexcept { return search_path_; }

  /// Loads (once) and checks the plugin `name` of `kind`. Errors name the plugin and the file.
  Result<LoadedPlugin> load(PluginKind kind, std::string_view name);
  /// Loads and checks a library file directly (used by load() and --list-plugins).
  Result<LoadedPlugin> load_file(const std::filesystem::path& file, std::optional<PluginKind> expected_kind,
                                 std::string_view expected_name);

  Result<std::shared_ptr<Transport>> make_transport(const LoadedPlugin& plugin, const PluginContext& ctx);
  Result<std::shared_ptr<Provider>> make_provider(const LoadedPlugin& plugin, const PluginContext& ctx);

  /// Every notify-*.so in the search path, loaded and checked (errors included, per file).
  std::vector<std::pair<std::filesystem::path, Result<LoadedPlugin>>> discover();

 private:
  std::vector<std::filesystem::path> search_path_;
  std::mutex mu_;
  std::map<std::string, LoadedPlugin> loaded_;  // by canonical file path
};

}  // namespace notify::plugin
