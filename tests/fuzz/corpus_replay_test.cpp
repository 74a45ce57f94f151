// Runs every file of the fuzz corpora through the fuzz targets, so the normal (gcc, ASan) suite exercises the same
// decoder paths the fuzzers explore; the fuzzers themselves run in tests/fuzz/run-fuzzers.sh.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace link_fuzz {
int run(const std::uint8_t* data, std::size_t size);
}
namespace cose_fuzz {
int run(const std::uint8_t* data, std::size_t size);
}
namespace cms_fuzz {
int run(const std::uint8_t* data, std::size_t size);
}

namespace {
std::size_t replay(const std::string& dir, int (*target)(const std::uint8_t*, std::size_t)) {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(target(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), 0) << entry.path();
    ++n;
  }
  return n;
}
}  // namespace

TEST(FuzzCorpus, LinkFrameDecodersSurviveTheCorpus) {
  EXPECT_GE(replay(std::string(NOTIFY_FUZZ_CORPUS) + "/link_frame", &link_fuzz::run), 5u);
}

TEST(FuzzCorpus, AttestationDecodersSurviveTheCorpus) {
  EXPECT_GE(replay(std::string(NOTIFY_FUZZ_CORPUS) + "/cose", &cose_fuzz::run), 5u);
}

TEST(FuzzCorpus, CmsEnvelopedParserSurvivesTheCorpus) {
  EXPECT_GE(replay(std::string(NOTIFY_FUZZ_CORPUS) + "/cms", &cms_fuzz::run), 4u);
}
