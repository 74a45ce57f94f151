#include "parent/ingress/ingress_factory.hpp"

#include "parent/callbacks/callbacks_factory.hpp"
#include "parent/dispatch/delivery_metrics.hpp"
#include "parent/dispatch/dispatch_service.hpp"
#include "parent/forward_service.hpp"
#include "parent/queue/notification_queue.hpp"

#include <algorithm>

namespace notify::parent {
namespace {

using FT = FieldType;

constexpr FieldSpec kIngress[] = {
    {"listen", FT::string, false, "127.0.0.1:8088", "HTTP API address (non-loopback needs a token)"},
    {"token", FT::secret, false, nullptr, "bearer token clients must send; empty = loopback only"},
    {"max_body_bytes", FT::integer, false, "1048576", "larger bodies get 413"},
    {"metrics_token", FT::secret, false, nullptr, "bearer token also accepted on /metrics (a scrape-only token)"},
    {"readyz_requires_token", FT::boolean, false, "false", "true: /readyz needs the token too"},
    {"threads", FT::integer, false, "16", "workers serving requests"},
    {"max_requests_per_client", FT::integer, false, "4", "concurrent requests of one client IP; more get 429"},
    {"io_timeout", FT::duration, false, "10s", "one socket read or write, headers included"},
    {"body_timeout", FT::duration, false, "30s", "the whole request body; later gets 408"},
};

Status build(services::ServiceContext& ctx, const config::YamlConfigView& in) {
  auto options = ingress_config_from(in);
  if (!options) return options.error();
  // In the store only so that the log redactor knows the values.
  if (options->token) {
    if (auto st = ctx.secrets().put("ingress.token", *options->token, SecretOrigin::config); !st) return st;
  }
  if (options->metrics_token) {
    if (auto st = ctx.secrets().put("ingress.metrics_token", *options->metrics_token, SecretOrigin::config); !st) {
      return st;
    }
  }
  if (ctx.checking()) return {};
  auto* queue = ctx.find<delivery::NotificationQueue>();
  auto* metrics = ctx.find<services::DeliveryMetrics>();
  auto* dispatch = ctx.find<services::DispatchService>();
  auto* forward = ctx.find<services::ForwardService>();
  if (queue == nullptr || metrics == nullptr || forward == nullptr) {
    return Error{Errc::internal, "ingress: built before queue"};
  }
  auto ingress = std::make_unique<services::IngressService>(
      std::move(options.value()), *queue, *metrics, [forward] { return forward->client().connected(); },
      [dispatch] {
        if (dispatch != nullptr) dispatch->wake();
      },
      ctx.logger("ingress"));
  ingress->set_extra_metrics([forward, &host = ctx.metrics()] {
    auto families = forward->enclave_metrics();
    auto own = host.collect();  // this host's provider plugins, if it runs any
    families.insert(families.end(), std::make_move_iterator(own.begin()), std::make_move_iterator(own.end()));
    return families;
  });
  if (auto* urls = ctx.find<PerNotificationCallbackUrls>()) {
    ingress->set_callback_url_store([&outbox = urls->outbox](auto list) { return outbox.remember_urls(list); });
  }
  ctx.add(std::move(ingress));
  return {};
}

}  // namespace

Result<services::IngressOptions> ingress_config_from(const config::YamlConfigView& in) {
  services::IngressOptions o;
  o.listen = in.string_value("listen");
  o.max_body_bytes = static_cast<std::size_t>(std::max<std::int64_t>(1, in.int_value("max_body_bytes")));
  if (auto token = in.raw_secret("token"); token && !token->empty()) o.token = Secret(*token);
  if (auto token = in.raw_secret("metrics_token"); token && !token->empty()) o.metrics_token = Secret(*token);
  o.readyz_requires_token = in.bool_value("readyz_requires_token");
  o.threads = static_cast<std::size_t>(std::clamp<std::int64_t>(in.int_value("threads"), 1, 256));
  o.max_requests_per_client =
      static_cast<std::size_t>(std::clamp<std::int64_t>(in.int_value("max_requests_per_client"), 1, 256));
  o.io_timeout = in.duration_value("io_timeout");
  o.body_timeout = in.duration_value("body_timeout");
  return o;
}

services::ServiceFactory ingress_factory() {
  return {{"ingress", FT::object, false, nullptr, "parent side: HTTP API that accepts notifications (needs queue)",
           kIngress, std::size(kIngress)},
          {"queue"},
          nullptr,
          build};
}

}  // namespace notify::parent
