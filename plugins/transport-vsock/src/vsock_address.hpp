#pragma once
// The vsock transport's address notation: "CID:PORT", where CID is a number or one of the well-known names:
//   any             VMADDR_CID_ANY (listen on every CID)
//   local           1, the local loopback (VMADDR_CID_LOCAL)
//   host, parent    3, the parent instance as a Nitro Enclave sees it (VMADDR_CID_HOST = 2 is the hypervisor)

#include <notify/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace notify::vsock {

struct VsockAddress {
  std::uint32_t cid = 0;
  std::uint32_t port = 0;
};

inline constexpr std::uint32_t kCidAny = 0xFFFFFFFFu;
inline constexpr std::uint32_t kCidLocal = 1;
inline constexpr std::uint32_t kCidParent = 3;  // how Nitro Enclaves address the parent instance

Result<VsockAddress> parse_vsock_address(std::string_view address);
std::string format_vsock_address(const VsockAddress& a);

}  // namespace notify::vsock
