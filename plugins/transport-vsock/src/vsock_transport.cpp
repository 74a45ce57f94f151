#include "vsock_transport.hpp"

#include "socket_io.hpp"
#include "vsock_address.hpp"

#include <linux/vm_sockets.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace notify::vsock {
namespace {

using posix::UniqueFd;

sockaddr_vm to_sockaddr(const VsockAddress& a) {
  sockaddr_vm sa{};
  sa.svm_family = AF_VSOCK;
  sa.svm_cid = a.cid;
  sa.svm_port = a.port;
  return sa;
}

// A vsock socket, or an error that says plainly when the kernel has no vsock at all.
Result<UniqueFd> make_socket(std::string_view address) {
  UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.valid()) return fd;
  const int err = errno;
  if (err == EAFNOSUPPORT || err == EPROTONOSUPPORT || err == ESOCKTNOSUPPORT) {
    return Error{Errc::unsupported, "vsock " + std::string(address) +
                                        ": this kernel has no AF_VSOCK support (load the vsock modules, or use tcp)"};
  }
  return posix::socket_error("socket for vsock", address, err);
}

std::string describe(const sockaddr_storage& ss) {
  const auto& vm = reinterpret_cast<const sockaddr_vm&>(ss);
  return format_vsock_address({vm.svm_cid, vm.svm_port});
}

}  // namespace

Result<std::unique_ptr<Stream>> VsockTransport::connect(std::string_view address,
                                                        std::chrono::milliseconds timeout) noexcept {
  try {
    auto a = parse_vsock_address(address);
    if (!a) return a.error();
    if (a->cid == kCidAny)
      return Error{Errc::invalid_argument, "vsock " + std::string(address) + ": cannot connect to CID any"};
    auto fd = make_socket(address);
    if (!fd) return fd.error();
    const auto sa = to_sockaddr(*a);
    auto st = posix::connect_with_timeout(fd->get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa, timeout,
                                          "vsock " + std::string(address));
    if (!st) return st.error();
    return std::unique_ptr<Stream>(std::make_unique<posix::FdStream>(std::move(fd.value()), format_vsock_address(*a)));
  } catch (const std::exception& e) {
    return Error{Errc::internal, "vsock connect " + std::string(address) + ": " + e.what()};
  }
}

Result<std::unique_ptr<Listener>> VsockTransport::listen(std::string_view address, int backlog) noexcept {
  try {
    auto a = parse_vsock_address(address);
    if (!a) return a.error();
    if (a->port == 0) a->port = VMADDR_PORT_ANY;  // ephemeral, like tcp's port 0
    auto fd = make_socket(address);
    if (!fd) return fd.error();
    const auto sa = to_sockaddr(*a);
    if (::bind(fd->get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
      return posix::socket_error("bind vsock", address, errno);
    }
    if (::listen(fd->get(), backlog) != 0) return posix::socket_error("listen on vsock", address, errno);
    sockaddr_vm local{};
    socklen_t len = sizeof local;
    ::getsockname(fd->get(), reinterpret_cast<sockaddr*>(&local), &len);
    // Report the CID as configured (any stays any) with the real port.
    VsockAddress bound{a->cid, local.svm_port};
    return std::unique_ptr<Listener>(std::make_unique<posix::FdListener>(
        std::move(fd.value()), format_vsock_address(bound),
        [](const sockaddr_storage& ss, socklen_t) { return describe(ss); }, nullptr));
  } catch (const std::exception& e) {
    return Error{Errc::internal, "vsock listen " + std::string(address) + ": " + e.what()};
  }
}

}  // namespace notify::vsock
