// The CBOR layer under the attestation decoder: indefinite-length maps, arrays and strings read like definite ones,
// and hostile encodings (deep nesting, floods of items or chunks, missing or misplaced breaks, chunks of the wrong
// type) are refused with the reason before libcbor builds anything.
#include "attestation/cbor_item.hpp"
#include "attestation/verifier.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

using namespace notify;
using namespace notify::attestation;

namespace {

Bytes cbor(std::initializer_list<unsigned> octets) {
  Bytes out;
  for (unsigned o : octets) out.push_back(static_cast<std::byte>(o));
  return out;
}

Bytes repeat(Bytes unit, std::size_t times) {
  Bytes out;
  for (std::size_t i = 0; i < times; ++i) out.insert(out.end(), unit.begin(), unit.end());
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The problem cbor_bounds_problem reports, or "" when it accepts the input.
std::string problem(const Bytes& data, const CborLimits& limits = {}) {
  return cbor_bounds_problem(data, limits).value_or("");
}

}  // namespace

TEST(Cbor, IndefiniteLengthItemsReadLikeDefiniteOnes) {
  // {_ "a": (_ h'01', h'0203'), "bc": (_ "x", "", "yz"), "arr": [_ 1, 2], "e": (_ ), "m": {_ "k": 7}}
  const Bytes data = cbor({0xBF,                                                            // map, indefinite
                           0x61, 'a', 0x5F, 0x41, 0x01, 0x42, 0x02, 0x03, 0xFF,             // chunked byte string
                           0x62, 'b', 'c',  0x7F, 0x61, 'x',  0x60, 0x62, 'y',  'z', 0xFF,  // chunked text
                           0x63, 'a', 'r',  'r',  0x9F, 0x01, 0x02, 0xFF,                   // indefinite array
                           0x61, 'e', 0x5F, 0xFF,                                           // no chunks at all
                           0x61, 'm', 0xBF, 0x61, 'k',  0x07, 0xFF,                         // nested indefinite map
                           0xFF});
  EXPECT_EQ(problem(data), "");
  std::string why;
  CborItem root = cbor_load_checked(data, why);
  ASSERT_TRUE(root) << why;
  ASSERT_TRUE(cbor_map_is_indefinite(root.get()));
  EXPECT_EQ(cbor_bytes(cbor_map_find(root.get(), "a")), cbor({0x01, 0x02, 0x03}));
  EXPECT_EQ(cbor_text(cbor_map_find(root.get(), "bc")), std::optional<std::string>("xyz"));
  const cbor_item_t* arr = cbor_map_find(root.get(), "arr");
  ASSERT_NE(arr, nullptr);
  ASSERT_EQ(cbor_array_size(arr), 2u);
  EXPECT_EQ(cbor_uint(cbor_array_handle(arr)[1]), std::optional<std::uint64_t>(2));
  EXPECT_EQ(cbor_bytes(cbor_map_find(root.get(), "e")), Bytes{});
  EXPECT_EQ(cbor_uint(cbor_map_find(cbor_map_find(root.get(), "m"), "k")), std::optional<std::uint64_t>(7));
  EXPECT_EQ(cbor_map_find(root.get(), "absent"), nullptr);
  // Typed accessors still check the type: a chunked byte string is not text, nor the reverse.
  EXPECT_FALSE(cbor_text(cbor_map_find(root.get(), "a")).has_value());
  EXPECT_FALSE(cbor_bytes(cbor_map_find(root.get(), "bc")).has_value());
}

TEST(Cbor, TrailingBytesAfterAnIndefiniteItemAreRefused) {
  std::string why;
  EXPECT_FALSE(cbor_load_checked(cbor({0x9F, 0xFF, 0x00}), why));
  EXPECT_EQ(why, "1 trailing bytes");
}

TEST(Cbor, DeepIndefiniteNestingIsRefused) {
  const Bytes arrays = concat({repeat(cbor({0x9F}), 200), cbor({0x00}), repeat(cbor({0xFF}), 200)});
  EXPECT_NE(problem(arrays).find("nesting deeper than 16"), std::string::npos) << problem(arrays);
  // {_ "a": {_ "a": ... 0 ...}}
  const Bytes maps = concat({repeat(cbor({0xBF, 0x61, 'a'}), 100), cbor({0x00}), repeat(cbor({0xFF}), 100)});
  EXPECT_NE(problem(maps).find("nesting deeper than 16"), std::string::npos) << problem(maps);
  // An indefinite string is one level too: 15 arrays and a chunked string fit in 16, not 16 arrays and the string.
  const Bytes fits = concat({repeat(cbor({0x9F}), 15), cbor({0x5F, 0x41, 0x00, 0xFF}), repeat(cbor({0xFF}), 15)});
  EXPECT_EQ(problem(fits), "");
  const Bytes over = concat({repeat(cbor({0x9F}), 16), cbor({0x5F, 0x41, 0x00, 0xFF}), repeat(cbor({0xFF}), 16)});
  EXPECT_NE(problem(over).find("nesting deeper than 16"), std::string::npos) << problem(over);
}

TEST(Cbor, FloodsOfChunksOrItemsAreRefused) {
  // Each chunk, even an empty one, costs libcbor an item and an allocation: the count is capped per string.
  const Bytes empty_chunks = concat({cbor({0x5F}), repeat(cbor({0x40}), 20000), cbor({0xFF})});
  EXPECT_NE(problem(empty_chunks).find("indefinite-length byte string has more than 256 chunks"), std::string::npos)
      << problem(empty_chunks);
  const Bytes tiny_chunks = concat({cbor({0x7F}), repeat(cbor({0x61, 'x'}), 300), cbor({0xFF})});
  EXPECT_NE(problem(tiny_chunks).find("indefinite-length text string has more than 256 chunks"), std::string::npos)
      << problem(tiny_chunks);
  const Bytes at_cap = concat({cbor({0x5F}), repeat(cbor({0x41, 0x00}), 256), cbor({0xFF})});
  EXPECT_EQ(problem(at_cap), "");
  // An indefinite array has no declared size to check against the bytes: the document-wide item cap bounds it.
  const Bytes items = concat({cbor({0x9F}), repeat(cbor({0x00}), 5000), cbor({0xFF})});
  EXPECT_NE(problem(items).find("more than 4096 items"), std::string::npos) << problem(items);
  const Bytes pairs = concat({cbor({0xBF}), repeat(cbor({0x00, 0x00}), 2100), cbor({0xFF})});
  EXPECT_NE(problem(pairs).find("more than 4096 items"), std::string::npos) << problem(pairs);
  // Many small indefinite strings, each under the chunk cap, still count against the item cap.
  const Bytes strings = concat({cbor({0x9F}), repeat(cbor({0x5F, 0x41, 0x00, 0x41, 0x00, 0xFF}), 1400), cbor({0xFF})});
  EXPECT_NE(problem(strings).find("more than 4096 items"), std::string::npos) << problem(strings);
  // A definite array within the bytes present but over the item cap is refused at its header.
  const Bytes definite = concat({cbor({0x99, 0x13, 0x88}), repeat(cbor({0x00}), 5000)});
  EXPECT_NE(problem(definite).find("array declares 5000 elements: over the limit of 4096 items"), std::string::npos)
      << problem(definite);
  // And the input as a whole is capped.
  const Bytes big = concat({cbor({0x5A, 0x00, 0x01, 0x20, 0x00}), Bytes(0x12000, std::byte{0})});
  EXPECT_NE(problem(big).find("over the limit of 65536"), std::string::npos) << problem(big);
}

TEST(Cbor, LimitsAreTheCallersToChoose) {
  const Bytes chunks = concat({cbor({0x5F}), repeat(cbor({0x41, 0x00}), 4), cbor({0xFF})});
  EXPECT_EQ(problem(chunks), "");
  EXPECT_NE(problem(chunks, CborLimits{.max_chunks = 3}).find("more than 3 chunks"), std::string::npos);
  EXPECT_NE(problem(chunks, CborLimits{.max_items = 4}).find("more than 4 items"), std::string::npos);
  EXPECT_NE(problem(chunks, CborLimits{.max_bytes = 9}).find("over the limit of 9"), std::string::npos);
  EXPECT_EQ(problem(chunks, CborLimits{.max_bytes = 10}), "");
  EXPECT_NE(problem(cbor({0x9F, 0x9F, 0xFF, 0xFF}), CborLimits{.max_depth = 1}).find("nesting deeper than 1"),
            std::string::npos);
}

TEST(Cbor, MissingBreakIsRefused) {
  EXPECT_NE(problem(cbor({0x9F, 0x01})).find("indefinite-length array without its break"), std::string::npos)
      << problem(cbor({0x9F, 0x01}));
  EXPECT_NE(problem(cbor({0xBF, 0x61, 'a', 0x01})).find("indefinite-length map without its break"), std::string::npos);
  EXPECT_NE(problem(cbor({0x5F, 0x41, 0x00})).find("indefinite-length byte string without its break"),
            std::string::npos);
  EXPECT_NE(problem(cbor({0x7F})).find("indefinite-length text string without its break"), std::string::npos);
  // The inner item is closed, the outer is not.
  EXPECT_NE(problem(cbor({0x9F, 0x9F, 0xFF})).find("array without its break"), std::string::npos);
  // A definite container cut short names that instead.
  EXPECT_NE(problem(cbor({0x82, 0x9F, 0xFF})).find("truncated CBOR: array with elements missing"), std::string::npos);
}

TEST(Cbor, ChunksMustBeDefiniteStringsOfTheSameType) {
  struct Case {
    Bytes data;
    std::string reason;
  };
  const Case cases[] = {
      {cbor({0x5F, 0x61, 'a', 0xFF}), "byte string must be a definite byte string (found: text string)"},
      {cbor({0x7F, 0x41, 0x00, 0xFF}), "text string must be a definite text string (found: byte string)"},
      {cbor({0x5F, 0x5F, 0xFF, 0xFF}), "(found: indefinite-length byte string)"},
      {cbor({0x7F, 0x7F, 0x60, 0xFF, 0xFF}), "(found: indefinite-length text string)"},
      {cbor({0x5F, 0x01, 0xFF}), "(found: integer)"},
      {cbor({0x5F, 0x81, 0x41, 0x00, 0xFF}), "(found: array)"},
      {cbor({0x7F, 0xBF, 0xFF, 0xFF}), "(found: indefinite-length map)"},
      {cbor({0x5F, 0xD8, 0x18, 0x41, 0x00, 0xFF}), "(found: tag)"},
      {cbor({0x5F, 0xF6, 0xFF}), "(found: simple value)"},
  };
  for (const auto& c : cases) {
    const std::string p = problem(c.data);
    EXPECT_NE(p.find("a chunk of an indefinite-length"), std::string::npos) << p;
    EXPECT_NE(p.find(c.reason), std::string::npos) << "expected '" << c.reason << "' in: " << p;
  }
}

TEST(Cbor, BreakOnlyClosesAnIndefiniteItem) {
  for (const Bytes& data : {cbor({0xFF}), cbor({0x81, 0xFF}), cbor({0x82, 0x01, 0xFF}), cbor({0xA1, 0x01, 0xFF}),
                            cbor({0xC2, 0xFF}), cbor({0x9F, 0x81, 0xFF, 0xFF})}) {
    EXPECT_NE(problem(data).find("a break (0xFF) outside an indefinite-length item"), std::string::npos)
        << problem(data);
  }
  // An indefinite map closes only after whole pairs.
  EXPECT_NE(problem(cbor({0xBF, 0x61, 'a', 0xFF})).find("ends after a key without its value"), std::string::npos);
  EXPECT_NE(problem(cbor({0xBF, 0x01, 0x02, 0x03, 0xFF})).find("ends after a key without its value"),
            std::string::npos);
}

TEST(Cbor, HostileIndefiniteDocumentsFailTheCoseCheck) {
  const Bytes flood = concat({cbor({0x84, 0x40, 0xA0, 0x5F}), repeat(cbor({0x40}), 1000), cbor({0xFF, 0x40})});
  auto r = verify_attestation(flood, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("cose: ", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find("more than 256 chunks"), std::string::npos) << r.error().message;
  // A well-formed indefinite envelope whose payload map is chunked into a nested bomb fails at the payload.
  const Bytes payload = concat({repeat(cbor({0x9F}), 40), repeat(cbor({0xFF}), 40)});
  Bytes envelope = cbor({0x9F, 0x44, 0xA1, 0x01, 0x38, 0x22, 0xA0, 0x58, static_cast<unsigned>(payload.size())});
  envelope.insert(envelope.end(), payload.begin(), payload.end());
  const Bytes tail = concat({cbor({0x58, 0x60}), Bytes(96, std::byte{1}), cbor({0xFF})});
  envelope.insert(envelope.end(), tail.begin(), tail.end());
  auto p = verify_attestation(envelope, {});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message.rfind("document: payload: nesting deeper than 16", 0), 0u) << p.error().message;
}
