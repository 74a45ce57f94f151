// A plugin of the current ABI version, exported with the ordinary macro and with a working factory, but from another
// build: other SDK headers (a different headers hash) and, with libstdc++, the library's debug mode, whose containers
// have another layout. Loading it would corrupt memory at the first std::string or std::vector that crosses the
// boundary, so the loader must refuse it by fingerprint, naming both parts, before it touches the factory.
//
// Both overrides come before the first include, as a foreign build's command line would set them.
#define _GLIBCXX_DEBUG 1  // NOLINT(bugprone-reserved-identifier): the library's documented switch
#undef NOTIFY_SDK_HEADERS_HASH
#define NOTIFY_SDK_HEADERS_HASH "00000000other000"

#include <notify/plugin.hpp>

namespace {
class NeverMade final : public notify::Provider {
 public:
  std::vector<notify::DeliveryResult> deliver(std::span<const notify::Notification> batch) noexcept override {
    return std::vector<notify::DeliveryResult>(batch.size(), notify::DeliveryResult::rejected("never loaded"));
  }
  [[nodiscard]] notify::ProviderHealth health() const noexcept override { return {true, "ok"}; }
};

notify::Result<std::unique_ptr<notify::Provider>> make_never(const notify::PluginContext&) {
  return std::unique_ptr<notify::Provider>(std::make_unique<NeverMade>());
}
}  // namespace

NOTIFY_PROVIDER_PLUGIN("otherbuild", "0.0.1", "built against other SDK headers, in debug mode", nullptr, make_never)
