// A library that looks like a plugin but was "built" for another SDK ABI: the loader must refuse it by version.
#include <notify/plugin.hpp>

namespace {
const notify::PluginDescriptor kDescriptor = {notify::kAbiVersion + 41, notify::PluginKind::provider, "badabi", "0.0.1",
                                              "ABI mismatch fixture", nullptr, 0};
}
BOOST_DLL_ALIAS(kDescriptor, notify_plugin_descriptor)
