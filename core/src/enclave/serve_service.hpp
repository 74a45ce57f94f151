#pragma once
// `serve:` — the enclave side. Listens on a transport and answers link requests with an EnclaveHandler.

#include "enclave/enclave_handler.hpp"
#include "link/link_server.hpp"
#include "runtime/service.hpp"

#include <notify/config_view.hpp>

#include <memory>

namespace notify::services {

class ServeService final : public Service {
 public:
  ServeService(std::shared_ptr<Transport> transport, std::string listen_address, link::ServerOptions options,
               std::unique_ptr<EnclaveHandler> handler, std::shared_ptr<Log> log);
  ~ServeService() override;
  [[nodiscard]] std::string_view name() const noexcept override { return "serve"; }
  Status start() override;
  void stop() override;

 private:
  std::shared_ptr<Transport> transport_;
  std::string listen_address_;
  link::ServerOptions options_;
  std::unique_ptr<EnclaveHandler> handler_;
  std::shared_ptr<Log> log_;
  std::unique_ptr<link::LinkServer> server_;
};

}  // namespace notify::services
