#pragma once
// `demo:` — the seed worker's test-notification loop: its schema, its settings, and the factory that builds it on
// the forward link.

#include "parent/demo_service.hpp"
#include "runtime/config/yaml_config_view.hpp"
#include "runtime/service_registry.hpp"

#include <notify/result.hpp>

namespace notify::parent {

/// Reads a validated `demo:` block (schema defaults filled in), the plaintext Initialize value included. The
/// enclave's address, the transport and on_finished are the factory's to fill in.
Result<services::DemoOptions> demo_config_from(const config::YamlConfigView& demo);

services::ServiceFactory demo_factory();

}  // namespace notify::parent
