#include "attestation/cbor_item.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace notify::attestation {
namespace {

// libcbor has one set of functions per string type; this table lets one function read both.
struct StringApi {
  bool (*isa)(const cbor_item_t*);
  bool (*is_definite)(const cbor_item_t*);
  cbor_mutable_data (*handle)(const cbor_item_t*);
  std::size_t (*length)(const cbor_item_t*);
  cbor_item_t** (*chunks)(const cbor_item_t*);
  std::size_t (*chunk_count)(const cbor_item_t*);
};
constexpr StringApi kByteString{cbor_isa_bytestring,    cbor_bytestring_is_definite,   cbor_bytestring_handle,
                                cbor_bytestring_length, cbor_bytestring_chunks_handle, cbor_bytestring_chunk_count};
constexpr StringApi kTextString{cbor_isa_string,    cbor_string_is_definite,   cbor_string_handle,
                                cbor_string_length, cbor_string_chunks_handle, cbor_string_chunk_count};

// A definite string's content, or an indefinite one's chunks concatenated (RFC 8949 §3.2.3). Chunks are definite
// strings of the same type: cbor_bounds_problem and libcbor's loader both insist, and it is checked again here.
template <class Out>
std::optional<Out> string_content(const cbor_item_t* item, const StringApi& api) {
  if (item == nullptr || !api.isa(item)) return std::nullopt;
  Out out;
  auto append = [&](const cbor_item_t* definite) {
    const std::size_t n = api.length(definite);
    if (n == 0) return;  // an empty chunk may have no buffer at all
    const auto* first = reinterpret_cast<const typename Out::value_type*>(api.handle(definite));
    out.insert(out.end(), first, first + n);
  };
  if (api.is_definite(item)) {
    append(item);
    return out;
  }
  cbor_item_t* const* chunks = api.chunks(item);
  const std::size_t count = api.chunk_count(item);
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (!api.isa(chunks[i]) || !api.is_definite(chunks[i])) return std::nullopt;
    total += api.length(chunks[i]);
  }
  out.reserve(total);
  for (std::size_t i = 0; i < count; ++i) append(chunks[i]);
  return out;
}

}  // namespace

std::optional<std::vector<std::byte>> cbor_bytes(const cbor_item_t* item) {
  return string_content<std::vector<std::byte>>(item, kByteString);
}

std::optional<std::string> cbor_text(const cbor_item_t* item) { return string_content<std::string>(item, kTextString); }

std::optional<std::uint64_t> cbor_uint(const cbor_item_t* item) {
  if (item == nullptr || !cbor_isa_uint(item)) return std::nullopt;
  return cbor_get_int(item);
}

cbor_item_t* cbor_map_find(const cbor_item_t* map, std::string_view key) {
  // cbor_map_size counts the pairs stored, for an indefinite map as for a definite one.
  if (map == nullptr || !cbor_isa_map(map)) return nullptr;
  const auto* pairs = cbor_map_handle(map);
  for (std::size_t i = 0; i < cbor_map_size(map); ++i) {
    auto k = cbor_text(pairs[i].key);
    if (k && *k == key) return pairs[i].value;
  }
  return nullptr;
}

bool cbor_is_null_item(const cbor_item_t* item) { return item != nullptr && cbor_is_null(item); }

namespace {

enum class Kind { integer, bytes, text, array, map, tag, simple };

std::string describe(Kind kind, bool indefinite) {
  const char* name = "simple value";
  switch (kind) {
    case Kind::integer:
      name = "integer";
      break;
    case Kind::bytes:
      name = "byte string";
      break;
    case Kind::text:
      name = "text string";
      break;
    case Kind::array:
      name = "array";
      break;
    case Kind::map:
      name = "map";
      break;
    case Kind::tag:
      name = "tag";
      break;
    case Kind::simple:
      break;
  }
  return indefinite ? std::string("indefinite-length ") + name : std::string(name);
}

// An item still being decoded: a definite container waits for `remaining` more elements; an indefinite one (array,
// map or string) for its break, having seen `count` elements (or chunks) so far.
struct Frame {
  Kind kind;
  bool indefinite = false;
  std::uint64_t remaining = 0;
  std::uint64_t count = 0;
};

struct BoundsState {
  const CborLimits* limits = nullptr;
  std::size_t remaining = 0;  // bytes after the header being decoded
  std::vector<Frame> open;    // innermost last; a definite frame here always waits for at least one element
  std::size_t items = 0;
  bool done = false;  // one complete top-level item was read
  std::optional<std::string> problem;
};

BoundsState& state(void* ctx) { return *static_cast<BoundsState*>(ctx); }

// A data item's header was decoded: count it, and check that it may stand where it is. Returns false on a problem.
bool begin(BoundsState& s, Kind kind, bool indefinite) {
  if (s.problem) return false;
  if (++s.items > s.limits->max_items) {
    s.problem = "more than " + std::to_string(s.limits->max_items) + " items";
    return false;
  }
  if (s.open.empty()) return true;
  Frame& parent = s.open.back();
  if (parent.kind == Kind::bytes || parent.kind == Kind::text) {  // only indefinite strings are ever open
    if (kind != parent.kind || indefinite) {
      s.problem = "a chunk of an " + describe(parent.kind, true) + " must be a definite " +
                  describe(parent.kind, false) + " (found: " + describe(kind, indefinite) + ")";
      return false;
    }
    if (++parent.count > s.limits->max_chunks) {
      s.problem =
          "an " + describe(parent.kind, true) + " has more than " + std::to_string(s.limits->max_chunks) + " chunks";
      return false;
    }
  } else if (parent.indefinite) {
    ++parent.count;
  }
  return true;
}

// An item is complete: it is one element of its parent, which may complete in turn.
void finish(BoundsState& s) {
  while (!s.open.empty()) {
    Frame& parent = s.open.back();
    if (parent.indefinite || --parent.remaining > 0) return;
    s.open.pop_back();
  }
  s.done = true;
}

void push(BoundsState& s, Frame frame) {
  s.open.push_back(frame);
  if (s.open.size() > s.limits->max_depth) s.problem = "nesting deeper than " + std::to_string(s.limits->max_depth);
}

void definite_container(void* ctx, Kind kind, std::uint64_t elements) {
  auto& s = state(ctx);
  if (!begin(s, kind, false)) return;
  const std::string what = describe(kind, false);
  if (elements > s.remaining) {
    s.problem = what + " declares " + std::to_string(elements) + " elements but only " + std::to_string(s.remaining) +
                " bytes follow";
    return;
  }
  if (elements > s.limits->max_items - s.items) {  // s.items <= max_items here
    s.problem = what + " declares " + std::to_string(elements) + " elements: over the limit of " +
                std::to_string(s.limits->max_items) + " items";
    return;
  }
  if (elements == 0) {
    finish(s);
    return;
  }
  push(s, Frame{kind, false, elements, 0});
}

void indefinite_item(void* ctx, Kind kind) {
  auto& s = state(ctx);
  if (begin(s, kind, true)) push(s, Frame{kind, true, 0, 0});
}

void scalar(void* ctx, Kind kind) {
  auto& s = state(ctx);
  if (begin(s, kind, false)) finish(s);
}

void on_array(void* ctx, std::uint64_t n) { definite_container(ctx, Kind::array, n); }
void on_map(void* ctx, std::uint64_t n) {
  if (n > UINT64_MAX / 2) {
    state(ctx).problem = "map size overflows";
    return;
  }
  definite_container(ctx, Kind::map, 2 * n);
}
void on_tag(void* ctx, std::uint64_t) { definite_container(ctx, Kind::tag, 1); }
void on_indef_array(void* ctx) { indefinite_item(ctx, Kind::array); }
void on_indef_map(void* ctx) { indefinite_item(ctx, Kind::map); }
void on_indef_bytes(void* ctx) { indefinite_item(ctx, Kind::bytes); }
void on_indef_text(void* ctx) { indefinite_item(ctx, Kind::text); }
void on_break(void* ctx) {
  auto& s = state(ctx);
  if (s.problem) return;
  if (s.open.empty() || !s.open.back().indefinite) {
    s.problem = "a break (0xFF) outside an indefinite-length item";
    return;
  }
  if (s.open.back().kind == Kind::map && s.open.back().count % 2 != 0) {
    s.problem = "an indefinite-length map ends after a key without its value";
    return;
  }
  s.open.pop_back();
  finish(s);
}
void on_u8(void* ctx, std::uint8_t) { scalar(ctx, Kind::integer); }
void on_u16(void* ctx, std::uint16_t) { scalar(ctx, Kind::integer); }
void on_u32(void* ctx, std::uint32_t) { scalar(ctx, Kind::integer); }
void on_u64(void* ctx, std::uint64_t) { scalar(ctx, Kind::integer); }
void on_bytes(void* ctx, cbor_data, std::uint64_t) { scalar(ctx, Kind::bytes); }
void on_text(void* ctx, cbor_data, std::uint64_t) { scalar(ctx, Kind::text); }
void on_float(void* ctx, float) { scalar(ctx, Kind::simple); }
void on_double(void* ctx, double) { scalar(ctx, Kind::simple); }
void on_bool(void* ctx, bool) { scalar(ctx, Kind::simple); }
void on_simple(void* ctx) { scalar(ctx, Kind::simple); }

}  // namespace

std::optional<std::string> cbor_bounds_problem(std::span<const std::byte> data, const CborLimits& limits) {
  if (data.empty()) return "no CBOR item (empty input)";
  if (data.size() > limits.max_bytes) {
    return "CBOR input of " + std::to_string(data.size()) + " bytes is over the limit of " +
           std::to_string(limits.max_bytes);
  }
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
  cb.string = on_text;
  cb.byte_string_start = on_indef_bytes;
  cb.string_start = on_indef_text;
  cb.indef_array_start = on_indef_array;
  cb.indef_map_start = on_indef_map;
  cb.indef_break = on_break;
  cb.array_start = on_array;
  cb.map_start = on_map;
  cb.tag = on_tag;
  cb.float2 = on_float;
  cb.float4 = on_float;
  cb.float8 = on_double;
  cb.undefined = on_simple;
  cb.null = on_simple;
  cb.boolean = on_bool;
  BoundsState s;
  s.limits = &limits;
  std::size_t pos = 0;
  const auto* bytes = reinterpret_cast<cbor_data>(data.data());
  // cbor_stream_decode reads one header (with a definite string's content) per call; libcbor fails any header it
  // has no callback for (unassigned simple values, reserved lengths), so every item passes through `begin`.
  while (pos < data.size() && !s.done) {
    // `remaining` must be known inside the callback: the header's own length is not known yet, so use the bytes after
    // its first byte, an upper bound that is still linear in the input.
    s.remaining = data.size() - pos - 1;
    auto r = cbor_stream_decode(bytes + pos, data.size() - pos, &cb, &s);
    if (r.status != CBOR_DECODER_FINISHED) return "truncated or malformed CBOR at byte " + std::to_string(pos);
    if (s.problem) return *s.problem + " (at byte " + std::to_string(pos) + ")";
    pos += r.read;
  }
  if (!s.done) {
    const Frame& open = s.open.back();
    return "truncated CBOR: " + describe(open.kind, open.indefinite) +
           (open.indefinite ? " without its break (0xFF)" : " with elements missing");
  }
  return std::nullopt;
}

CborItem cbor_load_checked(std::span<const std::byte> data, std::string& why, const CborLimits& limits) {
  if (auto problem = cbor_bounds_problem(data, limits)) {
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
