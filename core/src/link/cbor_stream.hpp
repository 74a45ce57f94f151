#pragma once
// Streaming CBOR (RFC 8949) for the link's hot messages, on libcbor's encoder and its streaming decoder: items are
// written straight into the payload string and read as a sequence of events from the frame's bytes, so no message
// is ever held as a tree (no DOM: what a hostile peer sends costs what it is, not a multiple of it).
//
// Only what the link uses is accepted: unsigned integers, definite-length text strings, arrays and maps. Anything
// else (indefinite lengths, tags, floats, byte strings, negative integers) is refused by name with its offset.

#include <notify/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace notify::link::cbor {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void uint(std::uint64_t v);
  void text(std::string_view s);
  void array(std::size_t n);
  void map(std::size_t n);

 private:
  std::string& out_;
};

enum class Kind { uint, text, array, map };
const char* kind_name(Kind k) noexcept;

struct Event {
  Kind kind = Kind::uint;
  std::uint64_t value = 0;  // uint: the value; array/map: the count
  std::string_view text;    // text: the string (points into the reader's input)
};

/// Thrown by Reader on malformed or unexpected input; the decoders turn it into Errc::protocol_error.
struct DecodeError {
  std::string message;
};

class Reader {
 public:
  /// `max_items` bounds the items decoded from one message, whatever their size: the decoded form of an item (a
  /// std::string, a vector slot) costs tens of bytes even when its encoding costs one.
  Reader(std::string_view input, std::size_t max_items) : input_(input), items_left_(max_items) {}

  Event next();  // the next item's head (a string comes whole)
  std::uint64_t expect_uint(std::string_view what, std::uint64_t max);
  std::string_view expect_text(std::string_view what, std::size_t max_bytes);
  /// An array or map head; its count must be within [min, max] and plausible for the bytes left (each element takes
  /// at least one byte), so a claimed count cannot make the caller reserve memory the message does not carry.
  std::size_t expect_array(std::string_view what, std::size_t min, std::size_t max);
  std::size_t expect_map(std::string_view what, std::size_t max);
  /// Skips one whole item (trailing fields a newer minor version added), at most `depth` levels deep.
  void skip(int depth = 8);
  [[nodiscard]] bool at_end() const noexcept { return offset_ == input_.size(); }
  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return input_.size() - offset_; }

 private:
  [[noreturn]] void fail(const std::string& why) const;
  std::string_view input_;
  std::size_t offset_ = 0;
  std::size_t items_left_;
};

}  // namespace notify::link::cbor
