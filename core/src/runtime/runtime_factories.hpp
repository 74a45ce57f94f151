#pragma once
// The runtime's own top-level keys, as registry entries: node, log, plugins, transports, providers. None builds a
// service; the host reads them (logging, plugin search path, plugin instances) before any service is built.

#include "runtime/service_registry.hpp"

#include <vector>

namespace notify::services {

/// In the order the host's schema lists them, ahead of the services.
std::vector<ServiceFactory> runtime_factories();

}  // namespace notify::services
