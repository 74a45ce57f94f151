#include "parent/relay/relay_factory.hpp"

#include "parent/relay/relay_options.hpp"
#include "parent/relay/relay_service.hpp"

namespace notify::relay {
namespace {

class RelayHostService final : public services::Service {
 public:
  RelayHostService(std::shared_ptr<Transport> listen, std::shared_ptr<Transport> upstream, RelayOptions options,
                   std::shared_ptr<Log> log)
      : log_(std::move(log)), relay_(std::move(listen), std::move(upstream), std::move(options), *log_) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "relay"; }
  Status start() override { return relay_.start(); }
  void stop() override { relay_.stop(); }

 private:
  std::shared_ptr<Log> log_;  // declared before relay_, which holds a reference to it
  RelayService relay_;
};

Status build(services::ServiceContext& ctx, const config::YamlConfigView& relay) {
  auto options = relay_options_from(relay);
  if (!options) return options.error();
  auto listen = ctx.transport(relay, "listen_transport");
  if (!listen) return listen.error();
  auto upstream = ctx.transport(relay, "upstream_transport");
  if (!upstream) return upstream.error();
  if (ctx.checking()) return {};  // no listening socket for --check-config
  ctx.add(std::make_unique<RelayHostService>(std::move(listen.value()), std::move(upstream.value()),
                                             std::move(options.value()), ctx.logger("relay")));
  return {};
}

}  // namespace

services::ServiceFactory relay_factory() {
  return {{"relay", FieldType::object, false, nullptr,
           "parent side: egress relay from the enclave (vsock) to allowlisted hosts", kRelaySchema,
           std::size(kRelaySchema)},
          {},
          "enabled",
          build};
}

}  // namespace notify::relay
