// Plugin loader: the real tcp and log plugins load and work; every kind of bad library is refused with a message that
// names the plugin and the file.
#include "capturing_log.hpp"
#include "runtime/config/config_document.hpp"
#include "runtime/plugin/plugin_registry.hpp"
#include "runtime/plugin/plugin_set.hpp"
#include "runtime/secret_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace notify;
using namespace notify::plugin;

namespace {

std::filesystem::path plugins() { return NOTIFY_TEST_PLUGIN_DIR; }
std::filesystem::path fixtures() { return NOTIFY_TEST_FIXTURE_PLUGIN_DIR; }

struct Env {
  std::shared_ptr<config::ConfigDocument> doc;
  secrets::MemorySecretStore secrets;
  PluginRegistry registry{{plugins()}};
  std::unique_ptr<PluginSet> set;
  explicit Env(const std::string& yaml) {
    auto d = config::ConfigDocument::parse(yaml, "loader.yaml", config::process_env());
    doc = d.value();
    set = std::make_unique<PluginSet>(doc, registry, secrets, [](const std::string&) {
      return std::make_shared<notify::testing::CapturingLog>();
    });
  }
};

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
  PluginRegistry reg({fixtures()});
  auto r = reg.load_file(fixtures() / "notify-provider-badabi.so", std::nullopt, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unsupported);
  const auto& m = r.error().message;
  EXPECT_NE(m.find("notify-provider-badabi.so"), std::string::npos) << m;
  EXPECT_NE(m.find("ABI " + std::to_string(kAbiVersion + 41)), std::string::npos) << m;
  EXPECT_NE(m.find("ABI " + std::to_string(kAbiVersion)), std::string::npos) << m;
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
  PluginSet set(d.value(), reg, secrets, [](const std::string&) { return std::make_shared<notify::testing::CapturingLog>(); });
  auto loaded = reg.load(PluginKind::provider, "throwing");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  notify::testing::CapturingLog log;
  config::YamlConfigView view(d.value(), d.value()->root(), {}, "", "throwing");
  PluginContext ctx{"throwing", view, log, secrets, set};
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
