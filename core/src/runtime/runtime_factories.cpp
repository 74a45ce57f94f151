#include "runtime/runtime_factories.hpp"

#include "runtime/log/log_config.hpp"

namespace notify::services {
namespace {

using FT = FieldType;

constexpr FieldSpec kPlugins[] = {
    {"path", FT::string_list, false, nullptr, "directories searched for notify-<kind>-<name>.so"},
};
constexpr FieldSpec kProvider[] = {
    {"name", FT::string, false, nullptr, "instance name (default: the plugin name); secrets are <name>.<key>"},
    {"plugin", FT::string, true, nullptr, "provider plugin name, e.g. braze, log"},
    {"default", FT::boolean, false, "false", "use for notifications that name no provider"},
    {"enabled", FT::boolean, false, "true",
     "false: the instance is checked against its plugin's schema but not made (an opt-in, e.g. ${FCM_ENABLED:-false})"},
    {"config", FT::object, false, nullptr, "the plugin's own block (validated against the plugin's schema)"},
};

}  // namespace

std::vector<ServiceFactory> runtime_factories() {
  const auto log = logging::log_schema();
  return {
      {{"node", FT::string, false, "notify", "this host's name in logs and health"}, {}, nullptr, {}},
      {{"log", FT::object, false, nullptr, "logging", log.data(), log.size()}, {}, nullptr, {}},
      {{"plugins", FT::object, false, nullptr, "plugin search path", kPlugins, std::size(kPlugins)}, {}, nullptr, {}},
      {{"transports", FT::object, false, nullptr, "optional per-transport plugin config, keyed by plugin name"},
       {},
       nullptr,
       {}},
      {{"providers", FT::object_list, false, nullptr, "provider instances", kProvider, std::size(kProvider)},
       {},
       nullptr,
       {}},
  };
}

}  // namespace notify::services
