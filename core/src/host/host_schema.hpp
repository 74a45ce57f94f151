#pragma once
// The host's registry: every top-level key a notify-host config can hold, each from the factory beside the code it
// configures (runtime/, enclave/, parent/), in start order. Listing both sides' factories is the composition root's
// job and nobody else's. Plugin blocks (providers[].config, transports.<name>) are checked against each plugin's own
// schema when it is loaded.

#include "runtime/service_registry.hpp"

#include <notify/config_view.hpp>

#include <span>

namespace notify::host {

const services::ServiceRegistry& host_registry();

/// host_registry().schema(): the whole schema of a host's config file.
std::span<const FieldSpec> host_schema();

}  // namespace notify::host
