// notify-ctl enclave status: what the enclave says of itself over the link (the health request the parent makes):
// its node, protocol, whether every provider is ready, each provider's state and every secret its config declares —
// installed (and from where), missing, or failing with the reason (KMS's error) — never a value. For an operator on
// the parent, where the enclave has no console.

#include "provisioning_support.hpp"

#include <iostream>

namespace notify::ctl {

int enclave_status(const CtlOptions& options) {
  auto enclave = open_enclave_link(options);
  if (!enclave) {
    std::cerr << "notify-ctl: " << enclave.error().message << "\n";
    return kExitUsage;
  }
  auto health = (*enclave)->client.health();
  if (!health) {
    std::cerr << "notify-ctl: enclave status from " << (*enclave)->address << " failed: " << health.error().message
              << "\n";
    return link_failure_exit_code(health.error());
  }
  if (options.has("json")) {
    std::cout << link::encode_health(*health) << "\n";
  } else {
    std::cout << "enclave " << health->node << " at " << (*enclave)->address << " (link protocol "
              << health->protocol_major << "." << health->protocol_minor << ")\n"
              << "initialized: " << (health->initialized ? "yes" : "no") << "\n";
    for (const auto& p : health->providers) {
      std::cout << "provider " << p.name << ": " << (p.ready ? "ready" : "not ready")
                << (p.detail.empty() ? "" : " (" + p.detail + ")") << "\n";
    }
    for (const auto& s : health->secrets) {
      std::cout << "secret " << s.name << ": " << link::secret_state_name(s.state);
      if (!s.origin.empty()) std::cout << " from " << s.origin;
      if (!s.source.empty() && s.origin.empty()) std::cout << " (fetched from " << s.source << ")";
      if (!s.detail.empty()) std::cout << ": " << s.detail;
      std::cout << "\n";
    }
  }
  // Scripts and probes: 0 when the enclave can deliver, 1 when it answers but is not ready.
  return health->initialized ? 0 : kExitRefused;
}

}  // namespace notify::ctl
