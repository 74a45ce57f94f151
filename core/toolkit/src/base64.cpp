#include <notify/toolkit/base64.hpp>

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>

#include <cctype>
#include <sstream>

namespace notify::toolkit {

std::string base64_encode(std::span<const std::byte> bytes) {
  std::ostringstream os;
  Poco::Base64Encoder enc(os);
  enc.rdbuf()->setLineLength(0);
  enc.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  enc.close();
  return os.str();
}

std::optional<std::vector<std::byte>> base64_decode(std::string_view text) {
  // Poco's decoder skips what it does not know and accepts padding anywhere; the checks here make it strict first.
  if (text.size() % 4 != 0) return std::nullopt;
  const auto first_pad = text.find('=');
  if (first_pad != std::string_view::npos &&
      (first_pad + 2 < text.size() || text.find_first_not_of('=', first_pad) != std::string_view::npos)) {
    return std::nullopt;
  }
  for (const char c : text.substr(0, first_pad)) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) == 0 && c != '+' && c != '/') return std::nullopt;
  }
  std::istringstream is{std::string(text)};
  Poco::Base64Decoder dec(is);
  std::vector<std::byte> out;
  out.reserve(text.size() / 4 * 3);
  char buf[4096];
  // Read through the stream API: a decoding error sets badbit instead of unwinding through a half-built buffer.
  while (dec.read(buf, sizeof buf) || dec.gcount() > 0) {
    const auto* b = reinterpret_cast<const std::byte*>(buf);
    out.insert(out.end(), b, b + dec.gcount());
  }
  if (dec.bad()) return std::nullopt;
  return out;
}

std::string strip_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) == 0) out.push_back(c);
  }
  return out;
}

}  // namespace notify::toolkit
