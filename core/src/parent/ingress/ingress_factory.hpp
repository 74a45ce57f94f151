#pragma once
// `ingress:` — the parent's HTTP API: its schema, its settings, and the factory that builds it over the queue (and
// the metrics and dispatcher) the queue factory provides.

#include "parent/ingress/ingress_service.hpp"
#include "runtime/config/yaml_config_view.hpp"
#include "runtime/service_registry.hpp"

#include <notify/result.hpp>

namespace notify::parent {

/// Reads a validated `ingress:` block (schema defaults filled in), the bearer token included.
Result<services::IngressOptions> ingress_config_from(const config::YamlConfigView& ingress);

services::ServiceFactory ingress_factory();

}  // namespace notify::parent
