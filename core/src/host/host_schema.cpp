#include "host/host_schema.hpp"

#include "enclave/secrets_factory.hpp"
#include "enclave/serve_factory.hpp"
#include "parent/callbacks/callbacks_factory.hpp"
#include "parent/demo_factory.hpp"
#include "parent/forward_factory.hpp"
#include "parent/ingress/ingress_factory.hpp"
#include "parent/provision_factory.hpp"
#include "parent/queue/queue_factory.hpp"
#include "parent/relay/relay_factory.hpp"
#include "runtime/runtime_factories.hpp"

namespace notify::host {
namespace {

std::vector<services::ServiceFactory> all_factories() {
  auto out = services::runtime_factories();  // node, log, plugins, transports, providers: read before any service
  out.push_back(enclave::secrets_factory());
  // Services, in start order: each after what it uses (stop runs backwards, so consumers stop first).
  out.push_back(relay::relay_factory());
  out.push_back(enclave::serve_factory());
  out.push_back(parent::forward_factory());
  out.push_back(parent::provision_factory());
  out.push_back(parent::queue_factory());      // the queue and its dispatcher
  out.push_back(parent::callbacks_factory());  // listens to the dispatcher; before ingress, which reads it
  out.push_back(parent::ingress_factory());
  out.push_back(parent::demo_factory());
  return out;
}

}  // namespace

const services::ServiceRegistry& host_registry() {
  static const services::ServiceRegistry registry(all_factories());
  return registry;
}

std::span<const FieldSpec> host_schema() { return host_registry().schema(); }

}  // namespace notify::host
