#include "link/cbor_stream.hpp"

#include <cbor.h>

namespace notify::link::cbor {

namespace {

// What one cbor_stream_decode call saw. Unsupported items set `refused` to their name.
struct Seen {
  Event event;
  const char* refused = nullptr;
  bool got = false;
};

void on_uint8(void* c, uint8_t v) { *static_cast<Seen*>(c) = {{Kind::uint, v, {}}, nullptr, true}; }
void on_uint16(void* c, uint16_t v) { *static_cast<Seen*>(c) = {{Kind::uint, v, {}}, nullptr, true}; }
void on_uint32(void* c, uint32_t v) { *static_cast<Seen*>(c) = {{Kind::uint, v, {}}, nullptr, true}; }
void on_uint64(void* c, uint64_t v) { *static_cast<Seen*>(c) = {{Kind::uint, v, {}}, nullptr, true}; }
void on_text(void* c, cbor_data data, size_t n) {
  *static_cast<Seen*>(c) = {{Kind::text, n, std::string_view(reinterpret_cast<const char*>(data), n)}, nullptr, true};
}
void on_array(void* c, size_t n) { *static_cast<Seen*>(c) = {{Kind::array, n, {}}, nullptr, true}; }
void on_map(void* c, size_t n) { *static_cast<Seen*>(c) = {{Kind::map, n, {}}, nullptr, true}; }

template <const char* Name>
void refuse(void* c) {
  static_cast<Seen*>(c)->refused = Name;
  static_cast<Seen*>(c)->got = true;
}
template <const char* Name, typename T>
void refuse_value(void* c, T) {
  refuse<Name>(c);
}
constexpr char kNegative[] = "a negative integer";
constexpr char kIndefinite[] = "an indefinite-length item";
constexpr char kTag[] = "a tag";
constexpr char kFloat[] = "a float";
constexpr char kSimple[] = "a simple value (null, undefined, bool)";
constexpr char kBreak[] = "a break";
constexpr char kByteString[] = "a byte string";

void refuse_bytes(void* c, cbor_data, size_t) { refuse<kByteString>(c); }

cbor_callbacks make_callbacks() noexcept {
  cbor_callbacks cb = cbor_empty_callbacks;
  cb.uint8 = on_uint8;
  cb.uint16 = on_uint16;
  cb.uint32 = on_uint32;
  cb.uint64 = on_uint64;
  cb.negint8 = refuse_value<kNegative, uint8_t>;
  cb.negint16 = refuse_value<kNegative, uint16_t>;
  cb.negint32 = refuse_value<kNegative, uint32_t>;
  cb.negint64 = refuse_value<kNegative, uint64_t>;
  cb.byte_string = refuse_bytes;
  cb.byte_string_start = refuse<kByteString>;
  cb.string = on_text;
  cb.string_start = refuse<kIndefinite>;
  cb.array_start = on_array;
  cb.indef_array_start = refuse<kIndefinite>;
  cb.map_start = on_map;
  cb.indef_map_start = refuse<kIndefinite>;
  cb.tag = refuse_value<kTag, uint64_t>;
  cb.float2 = refuse_value<kFloat, float>;
  cb.float4 = refuse_value<kFloat, float>;
  cb.float8 = refuse_value<kFloat, double>;
  cb.undefined = refuse<kSimple>;
  cb.null = refuse<kSimple>;
  cb.boolean = refuse_value<kSimple, bool>;
  cb.indef_break = refuse<kBreak>;
  return cb;
}

const cbor_callbacks& callbacks() noexcept {
  static const cbor_callbacks table = make_callbacks();
  return table;
}

// Room for the largest head (1 + 8 bytes), written in place.
template <typename F>
void put_head(std::string& out, F&& encode) {
  const auto at = out.size();
  out.resize(at + 9);
  const auto n = encode(reinterpret_cast<unsigned char*>(out.data() + at), std::size_t{9});
  out.resize(at + n);
}

}  // namespace

const char* kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::uint:
      return "an unsigned integer";
    case Kind::text:
      return "a text string";
    case Kind::array:
      return "an array";
    case Kind::map:
      return "a map";
  }
  return "an item";
}

void Writer::uint(std::uint64_t v) {
  put_head(out_, [&](unsigned char* b, std::size_t n) { return cbor_encode_uint(v, b, n); });
}
void Writer::text(std::string_view s) {
  put_head(out_, [&](unsigned char* b, std::size_t n) { return cbor_encode_string_start(s.size(), b, n); });
  out_.append(s);
}
void Writer::array(std::size_t count) {
  put_head(out_, [&](unsigned char* b, std::size_t n) { return cbor_encode_array_start(count, b, n); });
}
void Writer::map(std::size_t count) {
  put_head(out_, [&](unsigned char* b, std::size_t n) { return cbor_encode_map_start(count, b, n); });
}

void Reader::fail(const std::string& why) const {
  throw DecodeError{why + " (at byte " + std::to_string(offset_) + ")"};
}

Event Reader::next() {
  if (offset_ >= input_.size()) fail("message ends early");
  if (items_left_ == 0) fail("more items than a message may have");
  --items_left_;
  Seen seen;
  const auto r = cbor_stream_decode(reinterpret_cast<cbor_data>(input_.data() + offset_), input_.size() - offset_,
                                    &callbacks(), &seen);
  if (r.status == CBOR_DECODER_NEDATA) fail("message ends inside an item");
  if (r.status != CBOR_DECODER_FINISHED || !seen.got) fail("malformed CBOR");
  if (seen.refused) fail(std::string(seen.refused) + " is not part of the link protocol");
  offset_ += r.read;
  return seen.event;
}

std::uint64_t Reader::expect_uint(std::string_view what, std::uint64_t max) {
  const auto at = offset_;
  const auto e = next();
  if (e.kind != Kind::uint) {
    offset_ = at;
    fail(std::string(what) + ": expected an unsigned integer, got " + kind_name(e.kind));
  }
  if (e.value > max) {
    offset_ = at;
    fail(std::string(what) + ": " + std::to_string(e.value) + " is more than " + std::to_string(max));
  }
  return e.value;
}

std::string_view Reader::expect_text(std::string_view what, std::size_t max_bytes) {
  const auto at = offset_;
  const auto e = next();
  if (e.kind != Kind::text) {
    offset_ = at;
    fail(std::string(what) + ": expected a text string, got " + kind_name(e.kind));
  }
  if (e.text.size() > max_bytes) {
    offset_ = at;
    fail(std::string(what) + ": longer than " + std::to_string(max_bytes) + " bytes");
  }
  return e.text;
}

std::size_t Reader::expect_array(std::string_view what, std::size_t min, std::size_t max) {
  const auto at = offset_;
  const auto e = next();
  if (e.kind != Kind::array) {
    offset_ = at;
    fail(std::string(what) + ": expected an array, got " + kind_name(e.kind));
  }
  if (e.value < min || e.value > max || e.value > remaining()) {
    offset_ = at;
    fail(std::string(what) + ": " + std::to_string(e.value) + " elements, expected " + std::to_string(min) + ".." +
         std::to_string(max) + (e.value > remaining() ? " (more than the message carries)" : ""));
  }
  return static_cast<std::size_t>(e.value);
}

std::size_t Reader::expect_map(std::string_view what, std::size_t max) {
  const auto at = offset_;
  const auto e = next();
  if (e.kind != Kind::map) {
    offset_ = at;
    fail(std::string(what) + ": expected a map, got " + kind_name(e.kind));
  }
  if (e.value > max || 2 * e.value > remaining()) {
    offset_ = at;
    fail(std::string(what) + ": " + std::to_string(e.value) + " entries, at most " + std::to_string(max));
  }
  return static_cast<std::size_t>(e.value);
}

void Reader::skip(int depth) {
  if (depth <= 0) fail("items nested too deeply");
  const auto e = next();
  if (e.kind == Kind::array || e.kind == Kind::map) {
    const std::uint64_t items = e.kind == Kind::map ? 2 * e.value : e.value;
    if (items > remaining()) fail("a collection claims more elements than the message carries");
    for (std::uint64_t i = 0; i < items; ++i) skip(depth - 1);
  }
}

}  // namespace notify::link::cbor
