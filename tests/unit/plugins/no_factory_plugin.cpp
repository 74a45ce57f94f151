// A correct descriptor but no factory symbol.
#include <notify/plugin.hpp>

namespace {
const notify::PluginDescriptor kDescriptor = {notify::kAbiVersion,
                                              NOTIFY_BUILD_FINGERPRINT,
                                              notify::PluginKind::provider,
                                              "nofactory",
                                              "0.0.1",
                                              "missing factory fixture",
                                              nullptr,
                                              0};
}
BOOST_DLL_ALIAS(kDescriptor, notify_plugin_descriptor)
