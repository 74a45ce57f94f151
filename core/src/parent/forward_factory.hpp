#pragma once
// `forward:` — the parent's link client to the enclave: its schema, its settings, and the factory. Later factories
// (provision, queue, ingress, demo) find the ForwardService it provides and send through its client.

#include "link/link_client.hpp"
#include "runtime/config/yaml_config_view.hpp"
#include "runtime/service_registry.hpp"

#include <notify/result.hpp>

#include <string>

namespace notify::parent {

struct ForwardConfig {
  std::string transport;
  link::ClientOptions client;
  std::chrono::milliseconds enclave_logs{1000};     // 0: the enclave's log lines are not fetched
  std::chrono::milliseconds enclave_metrics{5000};  // 0: the enclave's metrics are not fetched
};

/// Reads a validated `forward:` block (schema defaults filled in).
Result<ForwardConfig> forward_config_from(const config::YamlConfigView& forward, const std::string& node);

services::ServiceFactory forward_factory();

}  // namespace notify::parent
