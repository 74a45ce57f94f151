#pragma once
// Owning handle for libcbor items and the few typed lookups the attestation decoder needs. Every accessor checks
// the item's type first, so malformed input yields an error naming the field, never a crash. Definite and
// indefinite-length encodings (RFC 8949 §3.2) read the same: the NSM may emit either.

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

/// A byte string's bytes (an indefinite-length one's chunks concatenated), or nullopt if `item` is not one.
std::optional<std::vector<std::byte>> cbor_bytes(const cbor_item_t* item);
/// A text string (an indefinite-length one's chunks concatenated), or nullopt.
std::optional<std::string> cbor_text(const cbor_item_t* item);
/// An unsigned integer, or nullopt.
std::optional<std::uint64_t> cbor_uint(const cbor_item_t* item);
/// The value under a text key of a map (definite or indefinite), or nullptr when absent (or `map` is not a map).
cbor_item_t* cbor_map_find(const cbor_item_t* map, std::string_view key);
bool cbor_is_null_item(const cbor_item_t* item);

/// What one CBOR input may hold. The defaults fit a Nitro attestation document (4-8 KiB, under a hundred items,
/// nesting depth 3) and its NSM response envelope with a wide margin, while keeping what libcbor builds from any
/// input to well under a megabyte: every item costs libcbor an allocation of its own, so the item count, not the
/// byte count, is what bounds its memory.
struct CborLimits {
  std::size_t max_bytes = 64 * 1024;
  std::size_t max_depth = 16;
  std::size_t max_items = 4096;  // every data item, container elements and string chunks included
  std::size_t max_chunks = 256;  // per indefinite-length string
};

/// Walks the encoding header by header, before anything is built, and checks that the input fits `limits`; that every
/// definite array/map/tag declares no more elements than the bytes left could hold (libcbor's loader allocates a
/// definite container's declared size up front, so this is what keeps a 9-byte input from asking for gigabytes); and
/// that indefinite-length items are well formed: a string's chunks are definite strings of its own major type, a
/// break (0xFF) closes only an indefinite-length item, an indefinite map holds whole key/value pairs, and every
/// indefinite item is closed. Returns the reason on failure.
std::optional<std::string> cbor_bounds_problem(std::span<const std::byte> data, const CborLimits& limits = {});

/// cbor_load after cbor_bounds_problem: nullptr (and the reason) for anything malformed or not wholly consumed.
CborItem cbor_load_checked(std::span<const std::byte> data, std::string& why, const CborLimits& limits = {});

/// Serialises an item (RAII buffer).
std::vector<std::byte> cbor_encode(const cbor_item_t* item);

}  // namespace notify::attestation
