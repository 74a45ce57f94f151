#pragma once
// `queue:` — the parent's durable queue and the dispatcher that drains it into the forward link: the schema, the
// settings, and the factory. Ingress finds the queue, the metrics and the dispatcher it provides.

#include "parent/dispatch/dispatch_service.hpp"
#include "parent/queue/notification_queue.hpp"
#include "parent/queue/redis_queue.hpp"
#include "runtime/config/yaml_config_view.hpp"
#include "runtime/service_registry.hpp"

#include <notify/result.hpp>

#include <string>

namespace notify::parent {

struct QueueConfig {
  std::string backend;  ///< sqlite or redis
  std::string path;     ///< sqlite: the database file
  delivery::RedisOptions redis;
  delivery::QueueOptions queue;
  services::DispatchOptions dispatch;
};

/// Reads a validated `queue:` block (schema defaults filled in). An unknown backend, or sqlite without a path, names
/// its file:line.
Result<QueueConfig> queue_config_from(const config::YamlConfigView& queue);

services::ServiceFactory queue_factory();

}  // namespace notify::parent
