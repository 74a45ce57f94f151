#pragma once
// `forward:` — the parent side's link client to the enclave. Other services (demo, the dispatcher) send through it.

#include "link/link_client.hpp"
#include "runtime/service.hpp"

#include <memory>

namespace notify::services {

class ForwardService final : public Service {
 public:
  ForwardService(std::shared_ptr<Transport> transport, link::ClientOptions options, std::shared_ptr<Log> log);
  ~ForwardService() override;
  [[nodiscard]] std::string_view name() const noexcept override { return "forward"; }
  Status start() override;
  void stop() override;
  [[nodiscard]] link::LinkClient& client() noexcept { return *client_; }
  [[nodiscard]] const link::ClientOptions& options() const noexcept { return options_; }

 private:
  link::ClientOptions options_;
  std::shared_ptr<Log> log_;
  std::unique_ptr<link::LinkClient> client_;
};

}  // namespace notify::services
