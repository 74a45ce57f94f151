#pragma once
// The tcp transport: IPv4/IPv6 literals and host names, connect with a deadline, TCP_NODELAY on every stream.

#include <notify/transport.hpp>

namespace notify::tcp {

class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(bool nodelay = true) : nodelay_(nodelay) {}
  Result<std::unique_ptr<Stream>> connect(std::string_view address,
                                          std::chrono::milliseconds timeout) noexcept override;
  Result<std::unique_ptr<Listener>> listen(std::string_view address, int backlog) noexcept override;

 private:
  bool nodelay_;
};

}  // namespace notify::tcp
