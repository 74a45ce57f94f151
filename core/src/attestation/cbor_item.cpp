#include "attestation/cbor_item.hpp"

#include <cstdlib>
#include <cstring>

namespace notify::attestation {

std::optional<std::vector<std::byte>> cbor_bytes(const cbor_item_t* item) {
  if (item == nullptr || !cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item)) return std::nullopt;
  std::vector<std::byte> out(cbor_bytestring_length(item));
  if (!out.empty()) std::memcpy(out.data(), cbor_bytestring_handle(item), out.size());
  return out;
}

std::optional<std::string> cbor_text(const cbor_item_t* item) {
  if (item == nullptr || !cbor_isa_string(item) || !cbor_string_is_definite(item)) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(cbor_string_handle(item)), cbor_string_length(item));
}

std::optional<std::uint64_t> cbor_uint(const cbor_item_t* item) {
  if (item == nullptr || !cbor_isa_uint(item)) return std::nullopt;
  return cbor_get_int(item);
}

cbor_item_t* cbor_map_find(const cbor_item_t* map, std::string_view key) {
  if (map == nullptr || !cbor_isa_map(map) || !cbor_map_is_definite(map)) return nullptr;
  const auto* pairs = cbor_map_handle(map);
  for (std::size_t i = 0; i < cbor_map_size(map); ++i) {
    auto k = cbor_text(pairs[i].key);
    if (k && *k == key) return pairs[i].value;
  }
  return nullptr;
}

bool cbor_is_null_item(const cbor_item_t* item) { return item != nullptr && cbor_is_null(item); }

std::vector<std::byte> cbor_encode(const cbor_item_t* item) {
  unsigned char* buffer = nullptr;
  std::size_t capacity = 0;
  const std::size_t written = cbor_serialize_alloc(item, &buffer, &capacity);
  std::unique_ptr<unsigned char, decltype(&std::free)> owned(buffer, &std::free);
  std::vector<std::byte> out(written);
  if (written > 0) std::memcpy(out.data(), buffer, written);
  return out;
}

}  // namespace notify::attestation
