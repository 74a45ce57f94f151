// notify-ctl enclave status: what the enclave says of itself over the link (the health request the parent makes):
// its node, protocol, whether every provider is ready, each provider's state and every secret its config declares —
// installed (and from where), missing, or failing with the reason (KMS's error) — never a value. For an operator on
// the parent, where the enclave has no console. With an enclave of protocol 2.3 or later, also what each provider's
// service has answered since the enclave started (calls by HTTP status, from the enclave's metrics).

#include "provisioning_support.hpp"

#include <iostream>
#include <map>
#include <string>

namespace notify::ctl {
namespace {

// "braze: 201 x 1200, 429 x 3, error x 1" per provider, from notify_provider_calls_total{provider,status}.
void print_provider_calls(const std::vector<prometheus::MetricFamily>& families) {
  std::map<std::string, std::map<std::string, double>> calls;  // provider -> status -> count
  for (const auto& f : families) {
    if (f.name != "notify_provider_calls_total") continue;
    for (const auto& m : f.metric) {
      std::string provider, status;
      for (const auto& l : m.label) {
        if (l.name == "provider") provider = l.value;
        if (l.name == "status") status = l.value;
      }
      if (!provider.empty() && !status.empty()) calls[provider][status] += m.counter.value;
    }
  }
  for (const auto& [provider, by_status] : calls) {
    std::cout << "calls " << provider << ":";
    const char* sep = " ";
    for (const auto& [status, n] : by_status) {
      std::cout << sep << status << " x " << static_cast<unsigned long long>(n);
      sep = ", ";
    }
    std::cout << "\n";
  }
}

}  // namespace

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
    if (auto metrics = (*enclave)->client.metrics(); metrics) print_provider_calls(*metrics);
  }
  // Scripts and probes: 0 when the enclave can deliver, 1 when it answers but is not ready.
  return health->initialized ? 0 : kExitRefused;
}

}  // namespace notify::ctl
