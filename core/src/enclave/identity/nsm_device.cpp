#include "enclave/identity/nsm_device.hpp"

#include "attestation/cbor_item.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace notify::attestation {
namespace {

constexpr std::size_t kResponseMax = 0x3000;  // nsm-api's NSM_RESPONSE_MAX_SIZE

struct NsmMessage {
  iovec request;
  iovec response;
};
constexpr unsigned long kNsmIoctl = _IOWR(0x0A, 0, NsmMessage);

cbor_item_t* bytes_or_null(std::optional<std::span<const std::byte>> b) {
  if (!b) return cbor_new_null();
  static const unsigned char kNothing = 0;
  return cbor_build_bytestring(b->empty() ? &kNothing : reinterpret_cast<const unsigned char*>(b->data()), b->size());
}

Result<const cbor_item_t*> response_body(const CborItem& root, const char* variant) {
  if (!root) return Error{Errc::protocol_error, "nsm: response is not CBOR"};
  if (auto err = cbor_map_find(root.get(), "Error")) {
    auto code = cbor_text(err);
    return Error{Errc::refused, "nsm: device error " + (code ? *code : std::string("(unreadable)"))};
  }
  const cbor_item_t* body = cbor_map_find(root.get(), variant);
  if (body == nullptr) return Error{Errc::protocol_error, std::string("nsm: response has no ") + variant};
  return body;
}

CborItem load(std::span<const std::byte> data) {
  std::string why;
  return cbor_load_checked(data, why);
}

}  // namespace

Bytes encode_nsm_attestation_request(std::optional<std::span<const std::byte>> public_key,
                                     std::optional<std::span<const std::byte>> nonce,
                                     std::optional<std::span<const std::byte>> user_data) {
  CborItem inner(cbor_new_definite_map(3));
  auto add = [&](const char* key, cbor_item_t* value) {
    cbor_map_add(inner.get(), {cbor_move(cbor_build_string(key)), cbor_move(value)});
  };
  add("user_data", bytes_or_null(user_data));
  add("nonce", bytes_or_null(nonce));
  add("public_key", bytes_or_null(public_key));
  CborItem outer(cbor_new_definite_map(1));
  cbor_map_add(outer.get(), {cbor_move(cbor_build_string("Attestation")), inner.get()});
  return cbor_encode(outer.get());
}

Result<Bytes> decode_nsm_attestation_response(std::span<const std::byte> response) {
  auto root = load(response);
  auto body = response_body(root, "Attestation");
  if (!body) return body.error();
  auto doc = cbor_bytes(cbor_map_find(*body, "document"));
  if (!doc || doc->empty()) return Error{Errc::protocol_error, "nsm: Attestation.document missing"};
  return *doc;
}

Bytes encode_nsm_get_random_request() {
  CborItem s(cbor_build_string("GetRandom"));
  return cbor_encode(s.get());
}

Result<Bytes> decode_nsm_get_random_response(std::span<const std::byte> response) {
  auto root = load(response);
  auto body = response_body(root, "GetRandom");
  if (!body) return body.error();
  auto random = cbor_bytes(cbor_map_find(*body, "random"));
  if (!random || random->empty()) return Error{Errc::protocol_error, "nsm: GetRandom.random missing"};
  return *random;
}

Result<NsmDevice> NsmDevice::open(const std::string& path) {
  toolkit::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return Error{Errc::unsupported, "no " + path + ": not inside a Nitro enclave"};
    return Error{Errc::io_error, "open " + path + ": " + std::strerror(errno)};
  }
  return NsmDevice(std::move(fd));
}

Result<Bytes> NsmDevice::call(const Bytes& request) {
  Bytes response(kResponseMax);
  NsmMessage msg{};
  msg.request.iov_base = const_cast<std::byte*>(request.data());
  msg.request.iov_len = request.size();
  msg.response.iov_base = response.data();
  msg.response.iov_len = response.size();
  if (::ioctl(fd_.get(), kNsmIoctl, &msg) != 0)
    return Error{Errc::io_error, std::string("nsm ioctl: ") + std::strerror(errno)};
  response.resize(msg.response.iov_len);
  return response;
}

Result<Bytes> NsmDevice::attest(std::span<const std::byte> public_key, std::span<const std::byte> nonce) {
  auto r = call(encode_nsm_attestation_request(public_key, nonce, std::nullopt));
  if (!r) return r.error();
  return decode_nsm_attestation_response(*r);
}

Result<Bytes> NsmDevice::get_random() {
  auto r = call(encode_nsm_get_random_request());
  if (!r) return r.error();
  return decode_nsm_get_random_response(*r);
}

}  // namespace notify::attestation
