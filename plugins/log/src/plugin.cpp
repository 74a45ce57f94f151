// Export of the "log" provider plugin: the whole of what a plugin needs besides its class.
#include "log_provider.hpp"

#include <notify/plugin.hpp>

namespace {

using notify::FieldSpec;
using notify::FieldType;

constexpr FieldSpec kLogSchema[] = {
    {"output", FieldType::string, false, "stdout", "stdout, or a file that JSON lines are appended to"},
    {"reject_user_ids", FieldType::string_list, false, nullptr, "dev/test: recipients answered as rejected"},
    {"retry_user_ids", FieldType::string_list, false, nullptr, "dev/test: recipients answered as retryable"},
    {"invalid_tokens", FieldType::string_list, false, nullptr,
     "dev/test: device tokens answered as invalid (the others of the notification are written and delivered)"},
};

notify::Result<std::unique_ptr<notify::Provider>> make_log(const notify::PluginContext& ctx) {
  notify::logprovider::LogProviderOptions opts;
  opts.output = ctx.config.get_string("output").value_or("stdout");
  opts.instance = std::string(ctx.instance_name);
  for (auto& u : ctx.config.get_string_list("reject_user_ids")) opts.reject_user_ids.insert(u);
  for (auto& u : ctx.config.get_string_list("retry_user_ids")) opts.retry_user_ids.insert(u);
  for (auto& t : ctx.config.get_string_list("invalid_tokens")) opts.invalid_tokens.insert(t);
  auto p = notify::logprovider::LogProvider::open(std::move(opts), ctx.log);
  if (!p) return notify::Error{p.error().code, ctx.config.location("output") + ": " + p.error().message};
  return std::unique_ptr<notify::Provider>(std::move(p.value()));
}

}  // namespace

NOTIFY_PROVIDER_PLUGIN("log", "1.0.0", "writes each notification as one JSON line to a file or stdout", kLogSchema,
                       make_log)
