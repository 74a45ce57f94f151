#pragma once
// `relay:` — the parent's egress relay as one of the host's services: the factory over relay_options (the schema and
// the allowlist decision live there).

#include "runtime/service_registry.hpp"

namespace notify::relay {

services::ServiceFactory relay_factory();

}  // namespace notify::relay
