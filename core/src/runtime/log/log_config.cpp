#include "runtime/log/log_config.hpp"

#include "runtime/log/log_sink.hpp"

#include <cstdlib>
#include <map>

namespace notify::logging {
namespace {

constexpr FieldSpec kLog[] = {
    {"level", FieldType::string, false, "info", "default level: trace, debug, info, warning, error"},
    {"components", FieldType::string_map, false, nullptr, "per-component levels, e.g. {link: debug, braze: trace}"},
    {"format", FieldType::string, false, "text", "text or json"},
};

}  // namespace

std::span<const FieldSpec> log_schema() { return kLog; }

Status configure_logging(const config::YamlConfigView& log) {
  auto level = parse_level(log.string_value("level"));
  if (!level) {
    return Error{Errc::invalid_argument,
                 log.location("level") + ": log.level: not one of trace, debug, info, warning, error"};
  }
  std::map<std::string, LogLevel> components;
  for (const auto& [name, text] : log.get_string_map("components")) {
    auto c = parse_level(text);
    if (!c) {
      return Error{Errc::invalid_argument,
                   log.location("components") + ": log.components." + name + ": bad level '" + text + "'"};
    }
    components[name] = *c;
  }
  Format format = Format::text;
  if (const auto f = log.string_value("format"); f == "json") {
    format = Format::json;
  } else if (f != "text") {
    return Error{Errc::invalid_argument, log.location("format") + ": log.format: must be text or json"};
  }
  // NOTIFY_LOG wins over the file, like RUST_LOG in the seed: "debug,link=trace".
  if (const char* env = std::getenv("NOTIFY_LOG"); env != nullptr && *env != '\0') {
    auto spec = parse_level_spec(env);
    if (!spec) return Error{Errc::invalid_argument, "NOTIFY_LOG: " + spec.error().message};
    if (spec->default_level) level = *spec->default_level;
    for (auto& [k, v] : spec->components) components[k] = v;
  }
  LogSink::instance().configure(*level, std::move(components), format);
  return {};
}

}  // namespace notify::logging
