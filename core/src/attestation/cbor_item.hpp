#pragma once
// Owning handle for libcbor items and the few typed lookups the attestation decoder needs. Every accessor checks
// the item's type first, so malformed input yields an error naming the field, never a crash.

#include <cbor.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace notify::attestation {

struct CborDeleter {
  void operator()(cbor_item_t* item) const noexcept {
    if (item != nullptr) cbor_decref(&item);
  }
};
using CborItem = std::unique_ptr<cbor_item_t, CborDeleter>;

/// A definite byte string's bytes, or nullopt if `item` is not one.
std::optional<std::vector<std::byte>> cbor_bytes(const cbor_item_t* item);
/// A definite text string, or nullopt.
std::optional<std::string> cbor_text(const cbor_item_t* item);
/// An unsigned integer, or nullopt.
std::optional<std::uint64_t> cbor_uint(const cbor_item_t* item);
/// The value under a text key of a definite map, or nullptr when absent (or `map` is not a map).
cbor_item_t* cbor_map_find(const cbor_item_t* map, std::string_view key);
bool cbor_is_null_item(const cbor_item_t* item);

/// Checks, before anything is built, that every array/map/tag in `data` declares no more elements than the bytes
/// left could hold, that nesting stays within `max_depth`, and that no indefinite-length item is used. libcbor's
/// loader allocates a container's declared size up front, so this is what keeps a 9-byte input from asking for
/// gigabytes. Returns the reason on failure.
std::optional<std::string> cbor_bounds_problem(std::span<const std::byte> data, std::size_t max_depth = 16);

/// cbor_load after cbor_bounds_problem: nullptr (and the reason) for anything malformed or not wholly consumed.
CborItem cbor_load_checked(std::span<const std::byte> data, std::string& why);

/// Serialises an item (RAII buffer).
std::vector<std::byte> cbor_encode(const cbor_item_t* item);

}  // namespace notify::attestation
