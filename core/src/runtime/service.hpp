#pragma once
// A long-running part of notify-host, made from one config block by its factory (service_registry.hpp). The host
// starts them in the registry's order and stops them in reverse, so that consumers stop before what they consume.

#include <notify/result.hpp>

#include <string_view>

namespace notify::services {

class Service {
 public:
  virtual ~Service() = default;
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  virtual Status start() = 0;
  /// Finishes in-flight work, then returns. Idempotent.
  virtual void stop() = 0;
};

}  // namespace notify::services
