// A plugin built by an older SDK: its descriptor has the ABI 1 layout (no build fingerprint). The loader must read
// only the first member, the ABI version, and refuse it by version without interpreting anything after it.
#include <boost/dll/alias.hpp>

#include <cstddef>
#include <cstdint>

namespace {
struct AbiV1Descriptor {  // notify::PluginDescriptor as ABI 1 defined it
  std::uint32_t abi_version;
  std::uint32_t kind;
  const char* name;
  const char* version;
  const char* summary;
  const void* config_schema;
  std::size_t config_schema_size;
};
const AbiV1Descriptor kDescriptor = {1, 2, "badabi", "0.0.1", "ABI 1 fixture", nullptr, 0};
}  // namespace
BOOST_DLL_ALIAS(kDescriptor, notify_plugin_descriptor)
