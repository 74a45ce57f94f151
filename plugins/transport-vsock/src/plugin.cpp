// Export of the "vsock" transport plugin.
#include "vsock_transport.hpp"

#include <notify/plugin.hpp>

namespace {

notify::Result<std::unique_ptr<notify::Transport>> make_vsock(const notify::PluginContext&) {
  return std::unique_ptr<notify::Transport>(std::make_unique<notify::vsock::VsockTransport>());
}

}  // namespace

NOTIFY_TRANSPORT_PLUGIN("vsock", "1.0.0", "AF_VSOCK streams: CID:PORT (any, local, host/parent = 3); Nitro Enclaves",
                        nullptr, make_vsock)
