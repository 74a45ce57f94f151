#include "attestation/cbor_item.hpp"

#include <cstdlib>
#include <cstdint>
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

namespace {

struct BoundsState {
  std::size_t remaining = 0;           // bytes after the item being decoded
  std::vector<std::uint64_t> open;     // elements still expected by each open container
  std::size_t max_depth = 16;
  std::optional<std::string> problem;
};

BoundsState& state(void* ctx) { return *static_cast<BoundsState*>(ctx); }

// Every decoded header is one element of the innermost open container.
void element(BoundsState& s) {
  while (!s.open.empty() && s.open.back() == 0) s.open.pop_back();
  if (!s.open.empty()) --s.open.back();
}

void open_container(void* ctx, std::uint64_t elements, const char* what) {
  auto& s = state(ctx);
  element(s);
  if (elements > s.remaining) {
    s.problem = std::string(what) + " declares " + std::to_string(elements) + " elements but only " +
                std::to_string(s.remaining) + " bytes follow";
    return;
  }
  if (elements > 0) {
    // Entries already at zero are still open: their last element is the chain being decoded now.
    s.open.push_back(elements);
    if (s.open.size() > s.max_depth) s.problem = "nesting deeper than " + std::to_string(s.max_depth);
  }
}

void on_array(void* ctx, std::uint64_t n) { open_container(ctx, n, "array"); }
void on_map(void* ctx, std::uint64_t n) {
  if (n > UINT64_MAX / 2) {
    state(ctx).problem = "map size overflows";
    return;
  }
  open_container(ctx, 2 * n, "map");
}
void on_tag(void* ctx, std::uint64_t) { open_container(ctx, 1, "tag"); }
void on_indefinite(void* ctx) { state(ctx).problem = "indefinite-length items are not accepted"; }
void on_scalar(void* ctx) { element(state(ctx)); }
void on_u8(void* ctx, std::uint8_t) { on_scalar(ctx); }
void on_u16(void* ctx, std::uint16_t) { on_scalar(ctx); }
void on_u32(void* ctx, std::uint32_t) { on_scalar(ctx); }
void on_u64(void* ctx, std::uint64_t) { on_scalar(ctx); }
void on_bytes(void* ctx, cbor_data, std::uint64_t) { on_scalar(ctx); }
void on_float(void* ctx, float) { on_scalar(ctx); }
void on_double(void* ctx, double) { on_scalar(ctx); }
void on_bool(void* ctx, bool) { on_scalar(ctx); }

}  // namespace

std::optional<std::string> cbor_bounds_problem(std::span<const std::byte> data, std::size_t max_depth) {
  cbor_callbacks cb = cbor_empty_callbacks;
  cb.uint8 = on_u8;
  cb.uint16 = on_u16;
  cb.uint32 = on_u32;
  cb.uint64 = on_u64;
  cb.negint8 = on_u8;
  cb.negint16 = on_u16;
  cb.negint32 = on_u32;
  cb.negint64 = on_u64;
  cb.byte_string = on_bytes;
  cb.string = on_bytes;
  cb.byte_string_start = on_indefinite;
  cb.string_start = on_indefinite;
  cb.indef_array_start = on_indefinite;
  cb.indef_map_start = on_indefinite;
  cb.indef_break = on_indefinite;
  cb.array_start = on_array;
  cb.map_start = on_map;
  cb.tag = on_tag;
  cb.float2 = on_float;
  cb.float4 = on_float;
  cb.float8 = on_double;
  cb.undefined = on_scalar;
  cb.null = on_scalar;
  cb.boolean = on_bool;
  BoundsState s;
  s.max_depth = max_depth;
  std::size_t pos = 0;
  const auto* bytes = reinterpret_cast<cbor_data>(data.data());
  while (pos < data.size()) {
    // `remaining` must be known inside the callback: the header's own length is not known yet, so use the bytes after
    // its first byte, an upper bound that is still linear in the input.
    s.remaining = data.size() - pos - 1;
    auto r = cbor_stream_decode(bytes + pos, data.size() - pos, &cb, &s);
    if (r.status != CBOR_DECODER_FINISHED) return "truncated or malformed CBOR at byte " + std::to_string(pos);
    if (s.problem) return *s.problem + " (at byte " + std::to_string(pos) + ")";
    pos += r.read;
    while (!s.open.empty() && s.open.back() == 0) s.open.pop_back();
    if (s.open.empty()) break;  // one complete top-level item
  }
  if (!s.open.empty()) return "truncated CBOR: a container is incomplete";
  return std::nullopt;
}

CborItem cbor_load_checked(std::span<const std::byte> data, std::string& why) {
  if (auto problem = cbor_bounds_problem(data)) {
    why = *problem;
    return nullptr;
  }
  cbor_load_result load{};
  CborItem item(cbor_load(reinterpret_cast<const unsigned char*>(data.data()), data.size(), &load));
  if (!item || load.error.code != CBOR_ERR_NONE) {
    why = "not valid CBOR (error at byte " + std::to_string(load.error.position) + ")";
    return nullptr;
  }
  if (load.read != data.size()) {
    why = std::to_string(data.size() - load.read) + " trailing bytes";
    return nullptr;
  }
  return item;
}

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
