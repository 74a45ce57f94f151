#pragma once
// A TransportRegistry for tests of egress: the real TCP transport under the name "tcp", counting the connections it
// makes, so a test can tell how many connections a client opened (and that it opened none).

#include "tcp_transport.hpp"

#include <notify/transport.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace notify::testing {

class CountingTcp final : public Transport {
 public:
  Result<std::unique_ptr<Stream>> connect(std::string_view address,
                                          std::chrono::milliseconds timeout) noexcept override {
    ++connects;
    return inner_.connect(address, timeout);
  }
  Result<std::unique_ptr<Listener>> listen(std::string_view address, int backlog) noexcept override {
    return inner_.listen(address, backlog);
  }
  std::atomic<int> connects{0};

 private:
  notify::tcp::TcpTransport inner_;
};

class CountingRegistry final : public TransportRegistry {
 public:
  Result<std::shared_ptr<Transport>> transport(std::string_view name) noexcept override {
    if (name != "tcp") return Error{Errc::not_found, "no transport plugin named '" + std::string(name) + "'"};
    return std::static_pointer_cast<Transport>(tcp);
  }
  std::shared_ptr<CountingTcp> tcp = std::make_shared<CountingTcp>();
};

}  // namespace notify::testing
