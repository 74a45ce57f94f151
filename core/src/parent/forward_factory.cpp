#include "parent/forward_factory.hpp"

#include "parent/forward_service.hpp"
#include "runtime/log/log_sink.hpp"

namespace notify::parent {
namespace {

using FT = FieldType;

constexpr FieldSpec kForward[] = {
    {"transport", FT::string, false, "tcp", "transport plugin to reach the enclave (tcp, vsock)"},
    {"address", FT::string, true, nullptr, "enclave address, e.g. 127.0.0.1:5000 or 16:5000"},
    {"connect_timeout", FT::duration, false, "5s", nullptr},
    {"request_timeout", FT::duration, false, "30s", "deadline of one request, including retries"},
    {"backoff_initial", FT::duration, false, "100ms", "first reconnect delay"},
    {"backoff_max", FT::duration, false, "10s", "reconnect delay cap"},
    {"max_attempts", FT::integer, false, "5", "sends of one request across reconnects"},
    {"max_frame_bytes", FT::integer, false, "4194304", nullptr},
    {"enclave_logs", FT::duration, false, "1s",
     "how often the enclave's buffered log lines are fetched and written to this host's log (0s: never)"},
    {"enclave_metrics", FT::duration, false, "5s",
     "how often the enclave's metrics are fetched for this host's /metrics (source=\"enclave\"; 0s: never)"},
};

Status build(services::ServiceContext& ctx, const config::YamlConfigView& forward) {
  auto cfg = forward_config_from(forward, ctx.node());
  if (!cfg) return cfg.error();
  auto transport = ctx.transport(forward, "transport");
  if (!transport) return transport.error();
  // Built in check mode too (nothing connects before start): demo and provision read its options.
  auto svc = std::make_unique<services::ForwardService>(
      std::move(transport.value()), cfg->client, ctx.logger("link"), cfg->enclave_logs,
      [](const std::string& component) { return logging::LogSink::instance().logger(component); },
      cfg->enclave_metrics);
  ctx.provide<services::ForwardService>(*svc);
  ctx.add(std::move(svc));
  return {};
}

}  // namespace

Result<ForwardConfig> forward_config_from(const config::YamlConfigView& forward, const std::string& node) {
  ForwardConfig c;
  c.transport = forward.string_value("transport");
  auto& o = c.client;
  o.node_name = node;
  o.address = forward.string_value("address");
  o.connect_timeout = forward.duration_value("connect_timeout");
  o.request_timeout = forward.duration_value("request_timeout");
  o.backoff_initial = forward.duration_value("backoff_initial");
  o.backoff_max = forward.duration_value("backoff_max");
  o.max_attempts = static_cast<int>(forward.int_value("max_attempts"));
  o.max_frame_bytes = static_cast<std::uint32_t>(forward.int_value("max_frame_bytes"));
  c.enclave_logs = forward.duration_value("enclave_logs");
  c.enclave_metrics = forward.duration_value("enclave_metrics");
  return c;
}

services::ServiceFactory forward_factory() {
  return {
      {"forward", FT::object, false, nullptr, "parent side: link client to the enclave", kForward, std::size(kForward)},
      {},
      nullptr,
      build};
}

}  // namespace notify::parent
