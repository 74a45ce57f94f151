#include "parent/forward_service.hpp"

namespace notify::services {

ForwardService::ForwardService(std::shared_ptr<Transport> transport, link::ClientOptions options,
                               std::shared_ptr<Log> log, std::chrono::milliseconds enclave_logs, LoggerFor logger_for,
                               std::chrono::milliseconds enclave_metrics)
    : options_(options),
      log_(std::move(log)),
      client_(std::make_unique<link::LinkClient>(std::move(transport), std::move(options), *log_)),
      enclave_logs_(enclave_logs),
      logger_for_(std::move(logger_for)),
      enclave_metrics_(enclave_metrics),
      // Three missed fetches make the snapshot stale: one late answer is not an outage.
      metrics_cache_(3 * enclave_metrics) {}

ForwardService::~ForwardService() { stop(); }

Status ForwardService::start() {
  client_->start();
  if (enclave_logs_.count() > 0 && logger_for_) {
    logs_thread_.start([this] {
      while (logs_thread_.wait_for(enclave_logs_)) fetch_enclave_logs();
    });
  }
  if (enclave_metrics_.count() > 0) {
    metrics_thread_.start([this] {
      while (metrics_thread_.wait_for(enclave_metrics_)) fetch_enclave_metrics();
    });
  }
  return {};
}

void ForwardService::stop() {
  // The client first: it fails a logs request still waiting for its reply at once, so the fetch loop cannot hold
  // shutdown for a request timeout; a fetch after this gets "not running" straight away.
  client_->stop();
  logs_thread_.stop();
  metrics_thread_.stop();
}

std::vector<prometheus::MetricFamily> ForwardService::enclave_metrics() const {
  if (enclave_metrics_.count() <= 0) return {};  // fetching is off: no notify_enclave_up to alert on
  return metrics_cache_.exposition(EnclaveMetricsCache::Clock::now());
}

void ForwardService::fetch_enclave_metrics() {
  if (!client_->connected()) {
    metrics_cache_.failed();
    return;
  }
  auto got = client_->metrics();
  if (!got) {
    metrics_cache_.failed();
    if (got.error().code != Errc::unsupported) log_->debug("fetching the enclave's metrics: " + got.error().message);
    return;
  }
  metrics_cache_.fetched(client_->peer().node, std::move(got.value()), EnclaveMetricsCache::Clock::now());
}

void ForwardService::fetch_enclave_logs() {
  if (!client_->connected()) return;  // the lines wait in the enclave's buffer (and are counted if it overflows)
  for (int round = 0; round < 10; ++round) {  // a full reply means more are waiting: drain, but not forever
    auto reply = client_->logs(link::kMaxLogLinesPerReply);
    if (!reply) {
      if (reply.error().code != Errc::unsupported)
        log_->debug("fetching the enclave's log lines: " + reply.error().message);
      return;
    }
    const std::string node = client_->peer().node;
    auto& log = enclave_loggers_[node];
    if (!log) log = logger_for_("enclave:" + node);
    if (reply->dropped > 0) {
      log->warning("the enclave dropped " + std::to_string(reply->dropped) +
                   " log line(s): its buffer (serve.logs.buffer) was full while no parent read it");
    }
    for (const auto& line : reply->lines) {
      if (log->enabled(line.level)) log->write(line.level, "[" + line.component + "] " + line.message);
    }
    if (reply->lines.size() < link::kMaxLogLinesPerReply) return;
  }
}

}  // namespace notify::services
