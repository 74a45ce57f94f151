// Adapters: the fuzz entry points, renamed at compile time for the replay test, exposed under namespaced names.
#include <cstddef>
#include <cstdint>

extern "C" int link_fuzz_entry(const std::uint8_t* data, std::size_t size);
extern "C" int cose_fuzz_entry(const std::uint8_t* data, std::size_t size);
extern "C" int cms_fuzz_entry(const std::uint8_t* data, std::size_t size);

namespace link_fuzz {
int run(const std::uint8_t* data, std::size_t size) { return link_fuzz_entry(data, size); }
}  // namespace link_fuzz
namespace cose_fuzz {
int run(const std::uint8_t* data, std::size_t size) { return cose_fuzz_entry(data, size); }
}  // namespace cose_fuzz
namespace cms_fuzz {
int run(const std::uint8_t* data, std::size_t size) { return cms_fuzz_entry(data, size); }
}  // namespace cms_fuzz
