#pragma once
// `callbacks:` — delivery callbacks on the parent: each final outcome (delivered, rejected, dead) POSTed to a
// receiver, signed per Standard Webhooks, from a durable outbox until acknowledged. The schema, the settings, and
// the factory (needs queue: it listens to the dispatcher).

#include "parent/callbacks/callback_outbox.hpp"
#include "parent/callbacks/callback_url.hpp"
#include "runtime/config/yaml_config_view.hpp"
#include "runtime/service_registry.hpp"

#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <chrono>
#include <filesystem>
#include <string>

namespace notify::parent {

struct CallbacksConfig {
  callbacks::CallbackUrl url;
  Secret secret;               ///< the whsec_ text, kept for the log redactor
  std::vector<std::byte> key;  ///< its decoded key
  std::string ca_file;         ///< empty: the system's trust store
  std::chrono::milliseconds timeout{10000};
  callbacks::OutboxOptions outbox;
  bool allow_per_notification_url = false;
  std::size_t concurrency = 4;
  std::filesystem::path path;  ///< the outbox file
};

/// Reads a validated `callbacks:` block; `queue` is the `queue:` block, for the default outbox path. Errors name the
/// key and its file:line and never contain the secret.
Result<CallbacksConfig> callbacks_config_from(const config::YamlConfigView& section,
                                              const config::YamlConfigView& queue);

/// Provided to the ingress only when callbacks.allow_per_notification_url is true: where it stores the URLs.
struct PerNotificationCallbackUrls {
  explicit PerNotificationCallbackUrls(callbacks::CallbackOutbox& o) : outbox(o) {}
  callbacks::CallbackOutbox& outbox;
};

services::ServiceFactory callbacks_factory();

}  // namespace notify::parent
