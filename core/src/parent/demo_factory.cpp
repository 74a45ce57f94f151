#include "parent/demo_factory.hpp"

#include "parent/forward_service.hpp"

namespace notify::parent {
namespace {

using FT = FieldType;

constexpr FieldSpec kDemoInit[] = {
    {"secret", FT::string, false, "braze.api_key", "secret name in the enclave's store"},
    {"value", FT::secret, false, nullptr,
     "the secret's value, sent IN PLAINTEXT over the link (seed behaviour; dev only). Empty: skip"},
};
constexpr FieldSpec kDemo[] = {
    {"enabled", FT::boolean, false, "true", nullptr},
    {"interval", FT::duration, false, "30s", "time between periodic test notifications"},
    {"count", FT::integer, false, "0", "periodic sends before stopping; 0 = forever"},
    {"exit_when_done", FT::boolean, false, "false", "with count > 0: shut the host down after the last send"},
    {"external_user_id", FT::string, false, "user123", "recipient of the test notifications"},
    {"device_token", FT::string, false, "", "send to this device token instead (FCM, APNs)"},
    {"title", FT::string, false, "Test Notification", nullptr},
    {"message", FT::string, false, "Hello from the Nitro Enclave!", nullptr},
    {"provider", FT::string, false, "", "provider instance on the enclave; empty = its default"},
    {"initialize", FT::object, false, nullptr, "the seed's Initialize step", kDemoInit, std::size(kDemoInit)},
};

Status build(services::ServiceContext& ctx, const config::YamlConfigView& demo) {
  auto opts = demo_config_from(demo);
  if (!opts) return opts.error();
  auto* forward = ctx.find<services::ForwardService>();
  if (forward == nullptr) return Error{Errc::internal, "demo: built before forward"};
  opts->enclave_address = forward->options().address;
  opts->transport = ctx.section("forward")->string_value("transport");
  if (demo.bool_value("exit_when_done") && opts->count > 0 && ctx.request_shutdown()) {
    opts->on_finished = ctx.request_shutdown();
  }
  ctx.add(std::make_unique<services::DemoService>(forward->client(), std::move(opts.value()), ctx.logger("demo")));
  return {};
}

}  // namespace

Result<services::DemoOptions> demo_config_from(const config::YamlConfigView& demo) {
  services::DemoOptions o;
  o.interval = demo.duration_value("interval");
  o.count = demo.int_value("count");
  o.external_user_id = demo.string_value("external_user_id");
  o.device_token = demo.string_value("device_token");
  o.title = demo.string_value("title");
  o.message = demo.string_value("message");
  o.provider = demo.string_value("provider");
  const auto init = demo.object("initialize");
  o.init_secret_name = init->string_value("secret");
  if (auto v = init->raw_secret("value"); v && !v->empty()) o.init_secret_value = Secret(*v);
  return o;
}

services::ServiceFactory demo_factory() {
  return {{"demo", FT::object, false, nullptr, "the seed worker's test-notification loop (needs forward)", kDemo,
           std::size(kDemo)},
          {"forward"},
          "enabled",
          build};
}

}  // namespace notify::parent
