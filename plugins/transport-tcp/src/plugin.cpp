// Export of the "tcp" transport plugin.
#include "tcp_transport.hpp"

#include <notify/plugin.hpp>

namespace {

constexpr notify::FieldSpec kTcpSchema[] = {
    {"nodelay", notify::FieldType::boolean, false, "true", "set TCP_NODELAY on every connection"},
};

notify::Result<std::unique_ptr<notify::Transport>> make_tcp(const notify::PluginContext& ctx) {
  const bool nodelay = ctx.config.get_bool("nodelay").value_or(true);
  return std::unique_ptr<notify::Transport>(std::make_unique<notify::tcp::TcpTransport>(nodelay));
}

}  // namespace

NOTIFY_TRANSPORT_PLUGIN("tcp", "1.0.0", "TCP streams: host:port, [v6]:port; for dev and for egress", kTcpSchema,
                        make_tcp)
