#pragma once
// `demo:` — the seed worker's behaviour, kept line for line: initialise the enclave, check its health, send one test
// notification, then one every `interval`. Used as the dev topology's traffic and as a smoke test in production.

#include "link/link_client.hpp"
#include "runtime/service.hpp"

#include <notify/secret.hpp>
#include <notify/toolkit/stoppable_thread.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace notify::services {

struct DemoOptions {
  std::chrono::milliseconds interval{30000};
  std::int64_t count = 0;  // periodic sends after the first; 0 = forever
  std::string external_user_id = "user123";
  std::string device_token;  // when set, the recipient instead of external_user_id (FCM, APNs)
  std::string title = "Test Notification";
  std::string message = "Hello from the Nitro Enclave!";
  std::string provider;
  std::string enclave_address;  // for the "📡 Connecting" line
  std::string transport;
  std::string init_secret_name = "braze.api_key";
  std::optional<Secret> init_secret_value;  // the seed's plaintext Initialize; dev only
  /// Called once after the last periodic send when count > 0 (e.g. to shut the host down).
  std::function<void()> on_finished;
};

class DemoService final : public Service {
 public:
  DemoService(link::LinkClient& client, DemoOptions options, std::shared_ptr<Log> log);
  ~DemoService() override;
  [[nodiscard]] std::string_view name() const noexcept override { return "demo"; }
  Status start() override;
  void stop() override;

 private:
  void run();
  bool send_test(std::uint64_t sequence);

  link::LinkClient& client_;
  DemoOptions options_;
  std::shared_ptr<Log> log_;
  toolkit::StoppableThread thread_;  // last: stopped and joined before the members its loop uses go
};

}  // namespace notify::services
