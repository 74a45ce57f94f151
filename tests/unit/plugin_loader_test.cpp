// Plugin loader: the real tcp and log plugins load and work; every kind of bad library is refused with a message that
// names the plugin and the file.
#include "capturing_log.hpp"
#include "runtime/config/config_document.hpp"
#include "runtime/plugin/plugin_registry.hpp"
#include "runtime/plugin/plugin_set.hpp"
#include "runtime/secret_store.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

using namespace notify;
using namespace notify::plugin;

namespace {

std::filesystem::path plugins() { return NOTIFY_TEST_PLUGIN_DIR; }
std::filesystem::path fixtures() { return NOTIFY_TEST_FIXTURE_PLUGIN_DIR; }

struct Env {
  std::shared_ptr<config::ConfigDocument> doc;
  secrets::MemorySecretStore secrets;
  metrics::HostMetrics metrics;
  PluginRegistry registry;
  std::unique_ptr<PluginSet> set;
  explicit Env(const std::string& yaml, const std::filesystem::path& dir = plugins()) : registry({dir}) {
    auto d = config::ConfigDocument::parse(yaml, "loader.yaml", config::process_env());
    doc = d.value();
    set = std::make_unique<PluginSet>(
        doc, registry, secrets, [](const std::string&) { return std::make_shared<notify::testing::CapturingLog>(); },
        metrics);
  }
};

// The file names of every plugin the tree builds, from CMake.
std::vector<std::string> all_plugin_files() {
  std::vector<std::string> out;
  std::stringstream list(NOTIFY_TEST_ALL_PLUGIN_FILES);
  for (std::string f; std::getline(list, f, ',');) out.push_back(f);
  return out;
}

bool same(const BuildFingerprint& a, const BuildFingerprint& b) {
  auto eq = [](const char* x, const char* y) { return x && y && std::strcmp(x, y) == 0; };
  return eq(a.compiler, b.compiler) && eq(a.standard_library, b.standard_library) && eq(a.sdk_headers, b.sdk_headers) &&
         eq(a.sanitizers, b.sanitizers);
}

}  // namespace

TEST(PluginRegistry, LoadsTheRealTcpTransportAndItWorks) {
  Env env("{}");
  auto tcp = env.set->transport("tcp");
  ASSERT_TRUE(tcp.ok()) << tcp.error().message;
  auto listener = tcp.value()->listen("127.0.0.1:0", 4);
  ASSERT_TRUE(listener.ok()) << listener.error().message;
  auto client = tcp.value()->connect(listener.value()->local_address(), std::chrono::seconds(2));
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto server = listener.value()->accept(std::chrono::seconds(2));
  ASSERT_TRUE(server.ok()) << server.error().message;
  const std::string msg = "ping";
  ASSERT_TRUE(client.value()->write_all(std::as_bytes(std::span(msg)), std::chrono::seconds(1)).ok());
  std::array<std::byte, 16> buf{};
  auto n = server.value()->read_some(buf, std::chrono::seconds(1));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), *n), "ping");
}

TEST(PluginRegistry, LoadsTheLogProviderFromProvidersList) {
  Env env("providers:\n  - name: audit\n    plugin: log\n    config: {output: /dev/null}\n");
  auto loaded = env.set->load_providers();
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  ASSERT_EQ(env.set->providers().size(), 1u);
  EXPECT_EQ(env.set->providers()[0].name, "audit");
  EXPECT_TRUE(env.set->providers()[0].is_default);  // the only one
  Notification n;
  n.request_id = "r1";
  n.external_user_ids = {"u1"};
  auto results = env.set->providers()[0].provider->deliver(std::span(&n, 1));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, Outcome::delivered);
}

TEST(PluginRegistry, DescriptorIsReadAndCached) {
  PluginRegistry reg({plugins()});
  auto a = reg.load(PluginKind::provider, "log");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_STREQ(a->descriptor->name, "log");
  EXPECT_EQ(a->descriptor->abi_version, kAbiVersion);
  EXPECT_TRUE(same(a->descriptor->build, host_fingerprint())) << describe(a->descriptor->build);
  auto b = reg.load(PluginKind::provider, "log");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->library.get(), b->library.get());
}

TEST(PluginRegistry, MissingPluginNamesFileAndSearchPath) {
  PluginRegistry reg({plugins()});
  auto r = reg.load(PluginKind::provider, "nosuch");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_NE(r.error().message.find("notify-provider-nosuch.so"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(plugins().string()), std::string::npos) << r.error().message;
}

TEST(PluginRegistry, RefusesOtherAbiVersionNamingBothVersions) {
  // The fixture has the ABI 1 descriptor layout: only its first member may be read.
  static_assert(kAbiVersion == 6, "update the bad-ABI fixture and this test with the ABI");
  PluginRegistry reg({fixtures()});
  auto r = reg.load_file(fixtures() / "notify-provider-badabi.so", std::nullopt, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unsupported);
  const auto& m = r.error().message;
  EXPECT_NE(m.find("notify-provider-badabi.so"), std::string::npos) << m;
  EXPECT_NE(m.find("built for plugin ABI 1,"), std::string::npos) << m;
  EXPECT_NE(m.find("this host speaks ABI 6"), std::string::npos) << m;
}

TEST(PluginRegistry, TheHostFingerprintIsThisBuilds) {
  const BuildFingerprint& host = host_fingerprint();
  // This test is built against the same SDK target as the loader, so the CMake-computed parts must agree.
  EXPECT_STREQ(host.sdk_headers, NOTIFY_SDK_HEADERS_HASH);
  EXPECT_EQ(std::strlen(host.sdk_headers), 16u) << host.sdk_headers;
  EXPECT_STREQ(host.compiler, NOTIFY_ABI_COMPILER);
  EXPECT_STREQ(host.standard_library, NOTIFY_ABI_STDLIB);
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(std::string(host.sanitizers).rfind("address", 0), 0u) << host.sanitizers;
#else
  EXPECT_STREQ(host.sanitizers, "none");
#endif
  const std::string line = describe(host);
  EXPECT_EQ(line.rfind(std::string("compiler ") + host.compiler + ", standard library ", 0), 0u) << line;
  EXPECT_NE(line.find(std::string("sdk headers ") + host.sdk_headers), std::string::npos) << line;
}

TEST(PluginRegistry, EveryPluginOfTheTreeLoadsAndSharesTheHostFingerprint) {
  const auto files = all_plugin_files();
  ASSERT_GE(files.size(), 4u) << NOTIFY_TEST_ALL_PLUGIN_FILES;  // tcp, vsock, log, braze at least
  PluginRegistry reg({plugins()});
  for (const auto& f : files) {
    auto r = reg.load_file(plugins() / f, std::nullopt, {});
    ASSERT_TRUE(r.ok()) << f << ": " << r.error().message;
    EXPECT_TRUE(same(r->descriptor->build, host_fingerprint())) << f << ": " << describe(r->descriptor->build);
  }
}

TEST(PluginRegistry, RefusesAPluginFromAnotherBuildNamingTheFileAndWhatDiffers) {
  PluginRegistry reg({fixtures()});
  auto r = reg.load_file(fixtures() / "notify-provider-otherbuild.so", std::nullopt, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unsupported);
  const auto& m = r.error().message;
  EXPECT_NE(m.find("notify-provider-otherbuild.so: "), std::string::npos) << m;
  EXPECT_NE(m.find(std::string("built with sdk headers '00000000other000', this host has '") +
                   host_fingerprint().sdk_headers + "'"),
            std::string::npos)
      << m;
#if defined(__GLIBCXX__)
  EXPECT_NE(m.find(std::string("built with standard library '") + host_fingerprint().standard_library +
                   " debug-mode', this host has '" + host_fingerprint().standard_library + "'"),
            std::string::npos)
      << m;
#endif
  // Only the parts that differ are named, and the remedy is given.
  EXPECT_EQ(m.find("built with compiler"), std::string::npos) << m;
  EXPECT_EQ(m.find("built with sanitizers"), std::string::npos) << m;
  EXPECT_NE(m.find("rebuild the plugin against this SDK build"), std::string::npos) << m;
}

TEST(PluginSet, APluginFromAnotherBuildIsAConfigErrorAtItsLine) {
  Env env("providers:\n  - plugin: otherbuild\n", fixtures());
  auto st = env.set->load_providers();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("loader.yaml:2:13: providers[0].plugin: plugin file "), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("notify-provider-otherbuild.so: built with "), std::string::npos) << st.message();
  EXPECT_TRUE(env.set->providers().empty());
}

TEST(PluginRegistry, RefusesALibraryThatIsNotAPlugin) {
  PluginRegistry reg({fixtures()});
  auto r = reg.load_file(fixtures() / "notify-provider-notaplugin.so", std::nullopt, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not an Enclave Notify plugin"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("notify-provider-notaplugin.so"), std::string::npos);
}

TEST(PluginRegistry, RefusesAFileThatIsNotALibrary) {
  PluginRegistry reg({fixtures()});
  auto r = reg.load_file(std::filesystem::path(NOTIFY_TEST_SOURCE_DIR) / "config_test.cpp", std::nullopt, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot load"), std::string::npos) << r.error().message;
}

TEST(PluginRegistry, RefusesAPluginWithoutFactory) {
  PluginRegistry reg({fixtures()});
  auto r = reg.load(PluginKind::provider, "nofactory");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing factory symbol notify_provider_factory_v"), std::string::npos)
      << r.error().message;
}

TEST(PluginRegistry, RefusesWrongKind) {
  PluginRegistry reg({plugins()});
  auto r = reg.load_file(plugins() / "notify-transport-tcp.so", PluginKind::provider, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("is a transport plugin, expected a provider"), std::string::npos)
      << r.error().message;
}

TEST(PluginRegistry, FactoryExceptionBecomesAnErrorNamingThePlugin) {
  auto d = config::ConfigDocument::parse("{}", "x.yaml", config::process_env());
  secrets::MemorySecretStore secrets;
  PluginRegistry reg({fixtures()});
  metrics::HostMetrics metrics;
  PluginSet set(
      d.value(), reg, secrets, [](const std::string&) { return std::make_shared<notify::testing::CapturingLog>(); },
      metrics);
  auto loaded = reg.load(PluginKind::provider, "throwing");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  notify::testing::CapturingLog log;
  config::YamlConfigView view(d.value(), d.value()->root(), {}, "", "throwing");
  auto provider_metrics = metrics.for_provider("throwing");
  PluginContext ctx{"throwing", view, log, secrets, set, *provider_metrics};
  auto made = reg.make_provider(*loaded, ctx);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message.find("boom from the factory"), std::string::npos) << made.error().message;
  EXPECT_NE(made.error().message.find("plugin 'throwing'"), std::string::npos) << made.error().message;
}

TEST(PluginSet, PluginConfigErrorsCarryFileLineAndHint) {
  Env env("providers:\n  - plugin: log\n    config:\n      outptu: /dev/null\n");
  auto st = env.set->load_providers();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("loader.yaml:4:7: providers[0].config.outptu: unknown key (did you mean 'output'?)"),
            std::string::npos)
      << st.message();
}

TEST(PluginSet, AnInstanceThatIsOffIsCheckedButNotMade) {
  // As config/enclave.yaml's opt-in push providers: `enabled: ${VAR:-false}`, the variable unset here.
  ::unsetenv("NOTIFY_TEST_PROVIDER_B");
  const std::string yaml =
      "providers:\n"
      "  - {name: a, plugin: log, config: {output: /dev/null}}\n"
      "  - {name: b, plugin: log, default: true, enabled: '${NOTIFY_TEST_PROVIDER_B:-false}',\n"
      "     config: {output: /dev/null}}\n";
  Env off(yaml);
  auto st = off.set->load_providers();
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(off.set->providers().size(), 1u);
  EXPECT_EQ(off.set->providers()[0].name, "a");
  EXPECT_TRUE(off.set->providers()[0].is_default);  // the only one made; b's default: true went with b
  EXPECT_EQ(off.set->find_provider("b"), nullptr);
  ASSERT_NE(off.set->find_provider(""), nullptr);
  EXPECT_EQ(off.set->find_provider("")->name, "a");

  // Turned on by the variable: both made, b the default.
  ::setenv("NOTIFY_TEST_PROVIDER_B", "true", 1);
  Env on(yaml);
  ::unsetenv("NOTIFY_TEST_PROVIDER_B");
  ASSERT_TRUE(on.set->load_providers().ok());
  ASSERT_EQ(on.set->providers().size(), 2u);
  ASSERT_NE(on.set->find_provider("b"), nullptr);
  EXPECT_EQ(on.set->find_provider("")->name, "b");

  // Off is still checked: a bad block is an error at its line, so turning the instance on later meets none.
  Env bad("providers:\n  - {name: b, plugin: log, enabled: false, config: {outptu: /dev/null}}\n");
  auto refused = bad.set->load_providers();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("outptu"), std::string::npos) << refused.message();
  EXPECT_TRUE(bad.set->providers().empty());
}

TEST(PluginSet, ObjectsKeepTheirLibraryAliveAfterTheRegistryDies) {
  std::shared_ptr<Transport> tcp;
  {
    Env env("{}");
    auto t = env.set->transport("tcp");
    ASSERT_TRUE(t.ok());
    tcp = t.value();
  }
  // Registry, plugin set and document are gone; the transport's code must still be mapped.
  auto l = tcp->listen("127.0.0.1:0", 1);
  EXPECT_TRUE(l.ok());
}
