#pragma once
// AF_VSOCK stream transport: how the parent and a Nitro Enclave talk. Stream sockets only (Nitro's vsock has no
// SOCK_SEQPACKET). Connects are non-blocking with a deadline; every error names the address.

#include <notify/transport.hpp>

namespace notify::vsock {

class VsockTransport final : public Transport {
 public:
  Result<std::unique_ptr<Stream>> connect(std::string_view address,
                                          std::chrono::milliseconds timeout) noexcept override;
  Result<std::unique_ptr<Listener>> listen(std::string_view address, int backlog) noexcept override;
};

}  // namespace notify::vsock
