#include "parent/forward_service.hpp"

namespace notify::services {

ForwardService::ForwardService(std::shared_ptr<Transport> transport, link::ClientOptions options,
                               std::shared_ptr<Log> log)
    : options_(options),
      log_(std::move(log)),
      client_(std::make_unique<link::LinkClient>(std::move(transport), std::move(options), *log_)) {}

ForwardService::~ForwardService() { stop(); }

Status ForwardService::start() {
  client_->start();
  return {};
}

void ForwardService::stop() { client_->stop(); }

}  // namespace notify::services
