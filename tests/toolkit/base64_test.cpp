// The one base64 codec: RFC 4648's test vectors both ways, and the strictness every caller relies on (KMS answers,
// link payloads from an untrusted parent, ciphertext files).
#include <notify/toolkit/base64.hpp>

#include <gtest/gtest.h>

#include <string>

using notify::toolkit::base64_decode;
using notify::toolkit::base64_encode;
using notify::toolkit::strip_whitespace;

namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::string text(const std::vector<std::byte>& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace

TEST(Base64, Rfc4648VectorsEncodeAndDecode) {
  const std::pair<std::string_view, std::string_view> vectors[] = {{"", ""},
                                                                   {"f", "Zg=="},
                                                                   {"fo", "Zm8="},
                                                                   {"foo", "Zm9v"},
                                                                   {"foob", "Zm9vYg=="},
                                                                   {"fooba", "Zm9vYmE="},
                                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(bytes(plain)), encoded) << plain;
    const auto back = base64_decode(encoded);
    ASSERT_TRUE(back) << encoded;
    EXPECT_EQ(text(*back), plain);
  }
}

TEST(Base64, LongInputHasNoLineBreaksAndRoundTrips) {
  std::string all;
  for (int i = 0; i < 3000; ++i) all.push_back(static_cast<char>(i % 256));
  const auto encoded = base64_encode(bytes(all));
  EXPECT_EQ(encoded.find('\n'), std::string::npos);
  EXPECT_EQ(encoded.size(), 4000u);
  const auto back = base64_decode(encoded);
  ASSERT_TRUE(back);
  EXPECT_EQ(text(*back), all);
}

TEST(Base64, RefusesWhatIsNotCanonical) {
  for (const char* bad :
       {"Zg", "Zg=", "Zm9", "Z===", "Zg==Zg==", "Zm=v", "Zm9v\n", " Zm9v", "Zm9-", "Zm9_", "Zm9v!A==", "===="}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
}

TEST(Base64, StripWhitespaceReadsAWrappedFile) {
  const auto stripped = strip_whitespace("Zm9v\r\nYmFy\n  \t");
  EXPECT_EQ(stripped, "Zm9vYmFy");
  const auto back = base64_decode(stripped);
  ASSERT_TRUE(back);
  EXPECT_EQ(text(*back), "foobar");
}
