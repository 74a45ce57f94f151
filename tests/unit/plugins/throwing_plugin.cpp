// A provider whose factory throws: the export macro must turn that into an error value at the library boundary.
#include <notify/plugin.hpp>

#include <stdexcept>

namespace {
notify::Result<std::unique_ptr<notify::Provider>> make_throwing(const notify::PluginContext&) {
  throw std::runtime_error("boom from the factory");
}
}  // namespace

NOTIFY_PROVIDER_PLUGIN("throwing", "0.0.1", "factory throws", nullptr, make_throwing)
