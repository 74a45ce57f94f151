#include "enclave/serve_service.hpp"

namespace notify::services {

ServeService::ServeService(std::shared_ptr<Transport> transport, std::string listen_address,
                           link::ServerOptions options, std::unique_ptr<EnclaveHandler> handler,
                           std::shared_ptr<Log> log)
    : transport_(std::move(transport)),
      listen_address_(std::move(listen_address)),
      options_(std::move(options)),
      handler_(std::move(handler)),
      log_(std::move(log)) {}

ServeService::~ServeService() { stop(); }

Status ServeService::start() {
  auto listener = transport_->listen(listen_address_, 128);
  if (!listener) return Error{listener.error().code, "serve: " + listener.error().message};
  server_ = std::make_unique<link::LinkServer>(std::move(listener.value()), *handler_, options_, *log_);
  server_->start();
  log_->info("link server listening on " + server_->local_address());
  return {};
}

void ServeService::stop() {
  if (server_) {
    server_->stop();
    server_.reset();
  }
}

}  // namespace notify::services
