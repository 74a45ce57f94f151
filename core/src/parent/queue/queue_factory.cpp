#include "parent/queue/queue_factory.hpp"

#include "parent/dispatch/delivery_metrics.hpp"
#include "parent/forward_service.hpp"
#include "parent/queue/sqlite_queue.hpp"

#include <algorithm>

namespace notify::parent {
namespace {

using FT = FieldType;

constexpr FieldSpec kQueue[] = {
    {"backend", FT::string, false, "sqlite", "sqlite (embedded) or redis (Redis Streams: several parents, one queue)"},
    {"path", FT::string, false, nullptr, "sqlite: the database file"},
    {"redis_address", FT::string, false, "127.0.0.1:6379", "redis: host:port or a unix socket path"},
    {"redis_prefix", FT::string, false, "notify", "redis: key prefix"},
    {"redis_group", FT::string, false, "notify-parents", "redis: consumer group shared by the parent hosts"},
    {"redis_consumer", FT::string, false, nullptr, "redis: this host's consumer name (default hostname:pid)"},
    {"capacity", FT::integer, false, "100000", "unfinished notifications at most; beyond that ingress answers 503"},
    {"max_attempts", FT::integer, false, "10", "deliveries tried before a notification is dead"},
    {"backoff_initial", FT::duration, false, "1s", "first retry delay (a provider's retry_after wins when longer)"},
    {"backoff_max", FT::duration, false, "5m", "retry delay cap"},
    {"lease", FT::duration, false, "60s", "an in-flight notification whose host died is retried after this"},
    {"retention", FT::duration, false, "7d", "delivered/rejected records are deleted this long after finishing"},
    {"batch_size", FT::integer, false, "50", "notifications per deliver request to the enclave (at most 100)"},
    {"poll_interval", FT::duration, false, "200ms", "how often the dispatcher looks for due retries"},
    {"window", FT::integer, false, "10",
     "deliver requests in flight on the link at once (1..256): a little above the provider's concurrency (Braze "
     "pool_size, 8) so the next batch is at the enclave when a call ends; keep serve.workers at least this large"},
};

std::int64_t at_least_one(std::int64_t v) { return std::max<std::int64_t>(1, v); }

Result<std::unique_ptr<delivery::NotificationQueue>> open_queue(const config::YamlConfigView& q, QueueConfig& cfg) {
  if (cfg.backend == "sqlite") {
    auto opened = delivery::SqliteQueue::open(cfg.path, cfg.queue);
    if (!opened) return Error{opened.error().code, q.location("path") + ": queue.path: " + opened.error().message};
    return std::unique_ptr<delivery::NotificationQueue>(std::move(opened.value()));
  }
  auto opened = delivery::RedisQueue::open(cfg.redis, cfg.queue);
  if (!opened) {
    return Error{opened.error().code, q.location("redis_address") + ": queue.redis_address: " + opened.error().message};
  }
  return std::unique_ptr<delivery::NotificationQueue>(std::move(opened.value()));
}

Status build(services::ServiceContext& ctx, const config::YamlConfigView& q) {
  auto cfg = queue_config_from(q);
  if (!cfg) return cfg.error();
  if (ctx.checking()) return {};  // no queue file or Redis connection for --check-config
  auto* forward = ctx.find<services::ForwardService>();
  if (forward == nullptr) return Error{Errc::internal, "queue: built before forward"};
  // The callbacks announce final outcomes: the queue notes them until they are handed on (DispatchService).
  cfg->queue.track_unannounced = ctx.active("callbacks");
  auto opened = open_queue(q, *cfg);
  if (!opened) return opened.error();
  // Kept by the context: they outlive the dispatcher and the ingress that use them.
  auto& queue = ctx.keep(std::move(opened.value()));
  auto& metrics = ctx.keep(std::make_unique<services::DeliveryMetrics>());
  auto dispatch = std::make_unique<services::DispatchService>(queue, forward->client(), cfg->dispatch, metrics,
                                                              ctx.logger("dispatch"));
  ctx.provide<delivery::NotificationQueue>(queue);
  ctx.provide<services::DeliveryMetrics>(metrics);
  ctx.provide<services::DispatchService>(*dispatch);
  ctx.add(std::move(dispatch));
  return {};
}

}  // namespace

Result<QueueConfig> queue_config_from(const config::YamlConfigView& q) {
  QueueConfig c;
  c.backend = q.string_value("backend");
  if (c.backend != "sqlite" && c.backend != "redis") {
    return Error{Errc::invalid_argument,
                 q.location("backend") + ": queue.backend: '" + c.backend + "' is not one of sqlite, redis"};
  }
  if (c.backend == "sqlite" && !q.has("path")) {
    return Error{Errc::invalid_argument, q.location("") + ": queue.path: required for the sqlite backend"};
  }
  c.path = q.get_string("path").value_or("");
  c.redis.address = q.string_value("redis_address");
  c.redis.prefix = q.string_value("redis_prefix");
  c.redis.group = q.string_value("redis_group");
  c.redis.consumer = q.get_string("redis_consumer").value_or("");  // absent: hostname:pid
  auto& o = c.queue;
  o.capacity = static_cast<std::size_t>(at_least_one(q.int_value("capacity")));
  o.max_attempts = static_cast<int>(at_least_one(q.int_value("max_attempts")));
  o.backoff_initial = q.duration_value("backoff_initial");
  o.backoff_max = q.duration_value("backoff_max");
  o.lease = q.duration_value("lease");
  o.retention = q.duration_value("retention");
  // At most 100 per deliver: with 50 recipients and 100 custom_data keys each (the ingress's bounds) a deliver stays
  // under the 20,000 JSON elements the enclave accepts in one message.
  c.dispatch.batch_size =
      static_cast<std::size_t>(std::min<std::int64_t>(100, at_least_one(q.int_value("batch_size"))));
  c.dispatch.poll_interval = q.duration_value("poll_interval");
  c.dispatch.window = static_cast<std::size_t>(std::min<std::int64_t>(256, at_least_one(q.int_value("window"))));
  // Purge at most once a minute, or more often when the retention itself is shorter (tests, small disks).
  c.dispatch.purge_interval = std::min<std::chrono::milliseconds>(
      std::chrono::minutes(1), std::max(o.retention, std::chrono::milliseconds(100)));
  return c;
}

services::ServiceFactory queue_factory() {
  return {{"queue", FT::object, false, nullptr, "parent side: durable queue and dispatcher to the link (needs forward)",
           kQueue, std::size(kQueue)},
          {"forward"},
          nullptr,
          build};
}

}  // namespace notify::parent
