#pragma once
/// @file plugin.hpp
/// What a plugin library exports, and the single macro that exports it.
///
/// A plugin is a shared library (CMake MODULE) exporting, through Boost.DLL aliases:
///  - `notify_plugin_descriptor`: a PluginDescriptor (ABI version first, so any version can read it, then the build
///    fingerprint the loader compares with its own: see abi.hpp), and
///  - one factory whose symbol carries the ABI number: `notify_transport_factory_v<ABI>` or
///    `notify_provider_factory_v<ABI>`.
///
/// Build plugins with `notify_add_plugin` against the same SDK build as the host: same compiler, standard library
/// and flags. The loader refuses any other build by name before it calls anything in the library.
///
/// Minimal provider:
/// @code
///   class MyProvider final : public notify::Provider { ... };
///   constexpr notify::FieldSpec kSchema[] = {{"url", notify::FieldType::string, true, nullptr, "where to POST"}};
///   notify::Result<std::unique_ptr<notify::Provider>> make(const notify::PluginContext& ctx) { ... }
///   NOTIFY_PROVIDER_PLUGIN("webhook", "1.0.0", "POSTs each notification as JSON", kSchema, make)
/// @endcode

#include <notify/abi.hpp>
#include <notify/config_view.hpp>
#include <notify/log.hpp>
#include <notify/metrics.hpp>
#include <notify/provider.hpp>
#include <notify/result.hpp>
#include <notify/secret.hpp>
#include <notify/transport.hpp>

#include <boost/dll/alias.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace notify {

enum class PluginKind : std::uint32_t { transport = 1, provider = 2 };

constexpr const char* plugin_kind_name(PluginKind k) noexcept {
  switch (k) {
    case PluginKind::transport:
      return "transport";
    case PluginKind::provider:
      return "provider";
  }
  return "unknown";
}

/// Exported by every plugin. `abi_version` must stay the first member in every future ABI: it is the only member a
/// loader reads before it knows the layout.
struct PluginDescriptor {
  std::uint32_t abi_version;
  BuildFingerprint build;  ///< NOTIFY_BUILD_FINGERPRINT of the plugin's build; must equal the host's
  PluginKind kind;
  const char* name;     ///< "tcp", "vsock", "braze", "log": what config refers to
  const char* version;  ///< the plugin's own semantic version
  const char* summary;  ///< one line for --list-plugins
  const FieldSpec* config_schema;
  std::size_t config_schema_size;
};

/// Everything a factory may use. References stay valid for the lifetime of the object the factory returns.
struct PluginContext {
  std::string_view instance_name;  ///< the config's name for this instance (defaults to the plugin name)
  const ConfigView& config;        ///< the instance's validated `config:` block
  Log& log;                        ///< component logger named after the instance
  SecretStore& secrets;
  TransportRegistry& transports;
  ProviderMetrics& metrics;  ///< series labelled with the instance name (transports may ignore it)
};

using TransportFactory = Result<std::unique_ptr<Transport>>(const PluginContext&);
using ProviderFactory = Result<std::unique_ptr<Provider>>(const PluginContext&);

/// Schema helpers for the export macros: an array of FieldSpec, or `nullptr` for a plugin without config keys.
template <std::size_t N>
constexpr std::span<const FieldSpec> schema_of(const FieldSpec (&fields)[N]) noexcept {
  return {fields, N};
}
constexpr std::span<const FieldSpec> schema_of(std::nullptr_t) noexcept { return {}; }

}  // namespace notify

#define NOTIFY_PP_CAT_(a, b) a##b
#define NOTIFY_PP_CAT(a, b) NOTIFY_PP_CAT_(a, b)
/// Must equal notify::kAbiVersion; checked by static_assert below.
#define NOTIFY_ABI_VERSION_NUMBER 6
static_assert(NOTIFY_ABI_VERSION_NUMBER == notify::kAbiVersion, "NOTIFY_ABI_VERSION_NUMBER out of sync");

#define NOTIFY_PLUGIN_IMPL_(kind_enum, kind_word, name_, version_, summary_, schema_, factory_)            \
  namespace notify_plugin_export {                                                                         \
  static const ::notify::PluginDescriptor descriptor = {::notify::kAbiVersion,                             \
                                                        NOTIFY_BUILD_FINGERPRINT,                          \
                                                        ::notify::PluginKind::kind_enum,                   \
                                                        name_,                                             \
                                                        version_,                                          \
                                                        summary_,                                          \
                                                        ::notify::schema_of(schema_).data(),               \
                                                        ::notify::schema_of(schema_).size()};              \
  static ::notify::kind_word##Factory* const factory = &(factory_);                                        \
  static ::notify::Result<std::unique_ptr<::notify::kind_word>> make(const ::notify::PluginContext& ctx) { \
    try {                                                                                                  \
      return factory(ctx);                                                                                 \
    } catch (const std::exception& e) {                                                                    \
      return ::notify::Error{::notify::Errc::internal, std::string("factory threw: ") + e.what()};         \
    } catch (...) {                                                                                        \
      return ::notify::Error{::notify::Errc::internal, "factory threw a non-standard exception"};          \
    }                                                                                                      \
  }                                                                                                        \
  }                                                                                                        \
  BOOST_DLL_ALIAS(notify_plugin_export::descriptor, notify_plugin_descriptor)                              \
  BOOST_DLL_ALIAS(notify_plugin_export::make, NOTIFY_PP_CAT(notify_##kind_enum##_factory_v, NOTIFY_ABI_VERSION_NUMBER))

/// Exports a transport plugin. `factory_` has the signature notify::TransportFactory. Exceptions it throws are
/// turned into an Error at the library boundary.
#define NOTIFY_TRANSPORT_PLUGIN(name_, version_, summary_, schema_, factory_) \
  NOTIFY_PLUGIN_IMPL_(transport, Transport, name_, version_, summary_, schema_, factory_)

/// Exports a provider plugin. `factory_` has the signature notify::ProviderFactory.
#define NOTIFY_PROVIDER_PLUGIN(name_, version_, summary_, schema_, factory_) \
  NOTIFY_PLUGIN_IMPL_(provider, Provider, name_, version_, summary_, schema_, factory_)
