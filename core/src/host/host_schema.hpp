#pragma once
// The schema of notify-host's own config keys. Plugin blocks (providers[].config, transports.<name>) are validated
// against each plugin's schema when it is loaded; service blocks reuse their service's schema.

#include <notify/config_view.hpp>

#include <span>

namespace notify::host {

std::span<const FieldSpec> host_schema();

}  // namespace notify::host
