#pragma once
// `serve:` — the enclave's side of the link: its schema, its settings, and the factory that builds the link server
// with its handler (providers, the request_id memory, the attestation identity, the KMS bootstrap `secrets:` asks for).

#include "link/link_server.hpp"
#include "runtime/config/yaml_config_view.hpp"
#include "runtime/service_registry.hpp"

#include <notify/result.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace notify::enclave {

struct ServeConfig {
  std::string transport;
  std::string listen;
  link::ServerOptions server;
  std::size_t dedup_capacity = 0;
  std::chrono::milliseconds dedup_ttl{0};
  std::string attestation;                 ///< none, nsm or development
  LogLevel log_level = LogLevel::warning;  ///< serve.logs.level: lowest level kept for the parent
  std::size_t log_buffer = 1000;           ///< serve.logs.buffer: lines kept while no parent reads
};

/// Reads a validated `serve:` block (schema defaults filled in); an unknown attestation mode names its file:line.
Result<ServeConfig> serve_config_from(const config::YamlConfigView& serve, const std::string& node);

services::ServiceFactory serve_factory();

}  // namespace notify::enclave
