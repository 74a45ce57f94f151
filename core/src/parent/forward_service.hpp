#pragma once
// `forward:` — the parent side's link client to the enclave. Other services (demo, the dispatcher) send through it.
// It also brings the enclave's log lines home: a production enclave has no console, so every `enclave_logs` interval
// the buffered lines are fetched and written to this host's log under the component `enclave:<node>`, at their own
// level and in this host's format, with a warning when the enclave's buffer overflowed while no parent read it.
// And its metrics: every `enclave_metrics` interval they are fetched and kept for the ingress's /metrics
// (enclave_metrics_cache.hpp).

#include "link/link_client.hpp"
#include "parent/enclave_metrics_cache.hpp"
#include "runtime/service.hpp"

#include <notify/toolkit/stoppable_thread.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>

namespace notify::services {

class ForwardService final : public Service {
 public:
  using LoggerFor = std::function<std::shared_ptr<Log>(const std::string& component)>;
  ForwardService(std::shared_ptr<Transport> transport, link::ClientOptions options, std::shared_ptr<Log> log,
                 std::chrono::milliseconds enclave_logs = std::chrono::milliseconds(0), LoggerFor logger_for = {},
                 std::chrono::milliseconds enclave_metrics = std::chrono::milliseconds(0));
  ~ForwardService() override;
  [[nodiscard]] std::string_view name() const noexcept override { return "forward"; }
  Status start() override;
  void stop() override;
  [[nodiscard]] link::LinkClient& client() noexcept { return *client_; }
  [[nodiscard]] const link::ClientOptions& options() const noexcept { return options_; }
  /// notify_enclave_up and the enclave's series as last fetched (labelled source="enclave"); only notify_enclave_up
  /// 0 when the fetch is failing or stale; nothing when it is off (enclave_metrics 0s).
  [[nodiscard]] std::vector<prometheus::MetricFamily> enclave_metrics() const;

 private:
  void fetch_enclave_logs();     // the loop of logs_thread_
  void fetch_enclave_metrics();  // the loop of metrics_thread_

  link::ClientOptions options_;
  std::shared_ptr<Log> log_;
  std::unique_ptr<link::LinkClient> client_;
  std::chrono::milliseconds enclave_logs_;
  LoggerFor logger_for_;
  std::map<std::string, std::shared_ptr<Log>> enclave_loggers_;  // by enclave node; the logs thread's own
  std::chrono::milliseconds enclave_metrics_;
  EnclaveMetricsCache metrics_cache_;
  toolkit::StoppableThread logs_thread_;  // last: stopped before what they use goes
  toolkit::StoppableThread metrics_thread_;
};

}  // namespace notify::services
