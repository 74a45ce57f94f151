#pragma once
// The `log:` section: its schema, and configuring the process's LogSink from it (NOTIFY_LOG wins over the file).

#include "runtime/config/yaml_config_view.hpp"

#include <notify/config_view.hpp>
#include <notify/result.hpp>

#include <span>

namespace notify::logging {

std::span<const FieldSpec> log_schema();

/// Applies `log` (level, components, format; schema defaults when absent), then the NOTIFY_LOG variable
/// ("debug,link=trace", like the seed's RUST_LOG). Errors name the key's file:line.
Status configure_logging(const config::YamlConfigView& log);

}  // namespace notify::logging
