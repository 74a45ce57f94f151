// The service registry: the host's schema is assembled from it in start order, sections are built in that order,
// needs are checked with file:line, a disabled section is skipped, unknown sections still get a hint, mistakes in
// the table itself are found, and every factory of the real host builds from a minimal config without reading a key
// its schema does not guarantee.
#include "runtime/service_registry.hpp"
#include "host/host_runtime.hpp"
#include "host/host_schema.hpp"
#include "host_process.hpp"  // TempDir
#include "runtime/config/config_document.hpp"
#include "runtime/plugin/plugin_registry.hpp"
#include "runtime/plugin/plugin_set.hpp"
#include "runtime/secret_store.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace notify;
using namespace notify::services;

namespace {

std::shared_ptr<config::ConfigDocument> parse(const std::string& text) {
  auto d = config::ConfigDocument::parse(text, "test.yaml", [](const std::string&) { return std::nullopt; });
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
  return d.ok() ? d.value() : nullptr;
}

class NamedService final : public Service {
 public:
  explicit NamedService(std::string name) : name_(std::move(name)) {}
  [[nodiscard]] std::string_view name() const noexcept override { return name_; }
  Status start() override { return {}; }
  void stop() override {}

 private:
  std::string name_;
};

constexpr FieldSpec kToyBlock[] = {
    {"enabled", FieldType::boolean, false, "true", "on/off"},
    {"size", FieldType::integer, false, "5", "defaulted"},
    {"label", FieldType::string, false, nullptr, "optional, no default"},
};

// A toy factory: adds a service named after its section, records its size, and offers its name to later factories.
ServiceFactory toy(const char* key, std::vector<std::string> needs, std::vector<std::string>& built) {
  ServiceFactory f;
  f.field = {key, FieldType::object, false, nullptr, "toy section", kToyBlock, std::size(kToyBlock)};
  f.needs = std::move(needs);
  f.enabled_key = "enabled";
  f.build = [&built, key](ServiceContext& ctx, const config::YamlConfigView& block) -> Status {
    built.push_back(std::string(key) + ":" + std::to_string(block.int_value("size")));
    ctx.add(std::make_unique<NamedService>(key));
    return {};
  };
  return f;
}

// A registry's build over `text`, with an empty plugin set and secret store.
struct Harness {
  explicit Harness(const ServiceRegistry& registry, const std::string& text) : doc(parse(text)) {
    if (doc) validation = doc->validate(doc->root(), registry.schema(), "");
    plugins = std::make_unique<plugin::PluginSet>(
        doc, plugin_registry, secrets, [](const std::string&) -> std::shared_ptr<Log> { return nullptr; }, metrics);
    context = std::make_unique<ServiceContext>(registry, doc, BuildMode::run,
                                               ServiceContext::Host{"node", *plugins, secrets, log, {}, metrics});
  }
  struct NullLog final : Log {
    void write(LogLevel, std::string_view) noexcept override {}
    [[nodiscard]] bool enabled(LogLevel) const noexcept override { return false; }
  };
  std::shared_ptr<config::ConfigDocument> doc;
  Status validation;
  metrics::HostMetrics metrics;
  plugin::PluginRegistry plugin_registry{std::vector<std::filesystem::path>{}};
  secrets::MemorySecretStore secrets;
  NullLog log;
  std::unique_ptr<plugin::PluginSet> plugins;
  std::unique_ptr<ServiceContext> context;
};

std::vector<std::string> names_of(ServiceContext& ctx) {
  std::vector<std::string> out;
  for (const auto& s : ctx.services()) out.emplace_back(s->name());
  return out;
}

}  // namespace

TEST(ServiceRegistry, HostSchemaIsAssembledFromTheFactoriesInStartOrder) {
  std::vector<std::string> keys;
  for (const auto& f : host::host_schema()) keys.emplace_back(f.key);
  const std::vector<std::string> expected = {"node",    "log",       "plugins", "transports", "providers",
                                             "secrets", "relay",     "serve",   "forward",    "provision",
                                             "queue",   "callbacks", "ingress", "demo"};
  EXPECT_EQ(keys, expected);
  const auto* queue = host::host_registry().find("queue");
  ASSERT_NE(queue, nullptr);
  EXPECT_EQ(queue->needs, std::vector<std::string>{"forward"});
  EXPECT_EQ(host::host_registry().find("ingress")->needs, std::vector<std::string>{"queue"});
  EXPECT_EQ(host::host_registry().find("callbacks")->needs, std::vector<std::string>{"queue"});
  EXPECT_EQ(host::host_registry().find("provision")->needs, std::vector<std::string>{"forward"});
  EXPECT_EQ(host::host_registry().find("demo")->needs, std::vector<std::string>{"forward"});
  EXPECT_FALSE(host::host_registry().find("secrets")->build);  // read by serve, builds nothing itself
}

TEST(ServiceRegistry, TheHostRegistryIsWellFormed) {
  auto st = host::host_registry().check();
  EXPECT_TRUE(st.ok()) << st.message();
}

TEST(ServiceRegistry, CheckFindsMistakesInTheTable) {
  std::vector<std::string> built;
  ServiceFactory bad_enabled = toy("c", {}, built);
  bad_enabled.enabled_key = "size";  // an integer, not a boolean
  ServiceRegistry registry({toy("a", {"b"}, built), toy("b", {"nosuch"}, built), bad_enabled, toy("a", {}, built)});
  auto st = registry.check();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::internal);
  for (const char* expected : {"a: needs 'b', which is not an earlier section", "b: needs 'nosuch'",
                               "c.size: enabled key is not a boolean", "a: declared twice"}) {
    EXPECT_NE(st.message().find(expected), std::string::npos) << expected << "\n" << st.message();
  }
}

TEST(ServiceRegistry, BuildsDeclaredSectionsInRegistryOrderWithSchemaDefaults) {
  std::vector<std::string> built;
  ServiceRegistry registry({toy("first", {}, built), toy("second", {"first"}, built), toy("third", {}, built)});
  ASSERT_TRUE(registry.check().ok());
  // File order differs from registry order; "third" is not declared.
  Harness h(registry, "second:\n  size: 7\nfirst: {}\n");
  ASSERT_TRUE(h.validation.ok()) << h.validation.message();
  auto st = registry.build(*h.context);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(built, (std::vector<std::string>{"first:5", "second:7"}));
  EXPECT_EQ(names_of(*h.context), (std::vector<std::string>{"first", "second"}));
}

TEST(ServiceRegistry, AMissingNeedIsAConfigErrorAtTheSectionsFileLine) {
  std::vector<std::string> built;
  ServiceRegistry registry({toy("forward", {}, built), toy("queue", {"forward"}, built)});
  Harness h(registry, "node: x\nqueue:\n  size: 1\n");
  auto st = registry.build(*h.context);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::invalid_argument);
  EXPECT_EQ(st.message(), "test.yaml:3:3: queue: needs a forward: section");
  EXPECT_TRUE(built.empty());
}

TEST(ServiceRegistry, ANeedThatIsTurnedOffIsMissingToo) {
  std::vector<std::string> built;
  ServiceRegistry registry({toy("forward", {}, built), toy("demo", {"forward"}, built)});
  Harness h(registry, "forward: {enabled: false}\ndemo: {}\n");
  auto st = registry.build(*h.context);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("test.yaml:2:7: demo: needs a forward: section"), std::string::npos) << st.message();
}

TEST(ServiceRegistry, ADisabledSectionIsNeitherCheckedForNeedsNorBuilt) {
  std::vector<std::string> built;
  ServiceRegistry registry({toy("forward", {}, built), toy("demo", {"forward"}, built)});
  Harness h(registry, "demo:\n  enabled: false\n");
  auto st = registry.build(*h.context);
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(built.empty());
  EXPECT_TRUE(h.context->services().empty());
}

TEST(ServiceRegistry, UnknownSectionsStillGetADidYouMeanHint) {
  auto doc = parse("queu:\n  path: q.db\nforward: {address: x}\n");
  auto st = doc->validate(doc->root(), host::host_schema(), "");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("test.yaml:1:1: queu: unknown key (did you mean 'queue'?)"), std::string::npos)
      << st.message();
}

TEST(ServiceRegistry, AFactoryReadingAnUnguaranteedKeyFailsAsAProgrammingErrorNamingIt) {
  ServiceFactory careless;
  careless.field = {"careless", FieldType::object, false, nullptr, "toy", kToyBlock, std::size(kToyBlock)};
  careless.build = [](ServiceContext&, const config::YamlConfigView& block) -> Status {
    (void)block.string_value("label");  // optional without a default: must be read with get_string()
    return {};
  };
  std::vector<ServiceFactory> list;
  list.push_back(std::move(careless));
  ServiceRegistry registry(std::move(list));
  Harness h(registry, "careless:\n  label: here\n");
  auto st = registry.build(*h.context);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::internal);
  EXPECT_NE(st.message().find("careless: programming error: careless.label: read as always set"), std::string::npos)
      << st.message();
}

TEST(ServiceRegistry, FactoriesFindWhatEarlierOnesProvide) {
  struct Shared {
    int value = 0;
  };
  ServiceFactory producer;
  producer.field = {"producer", FieldType::object, false, nullptr, "toy", kToyBlock, std::size(kToyBlock)};
  producer.build = [](ServiceContext& ctx, const config::YamlConfigView& block) -> Status {
    auto& shared = ctx.keep(std::make_unique<Shared>());
    shared.value = static_cast<int>(block.int_value("size"));
    ctx.provide(shared);
    return {};
  };
  int seen = -1;
  ServiceFactory consumer;
  consumer.field = {"consumer", FieldType::object, false, nullptr, "toy", kToyBlock, std::size(kToyBlock)};
  consumer.needs = {"producer"};
  consumer.build = [&seen](ServiceContext& ctx, const config::YamlConfigView&) -> Status {
    auto* shared = ctx.find<Shared>();
    if (shared == nullptr) return Error{Errc::internal, "nothing provided"};
    seen = shared->value;
    EXPECT_EQ(ctx.find<NamedService>(), nullptr);  // nobody offered one
    return {};
  };
  std::vector<ServiceFactory> list;
  list.push_back(std::move(producer));
  list.push_back(std::move(consumer));
  ServiceRegistry registry(std::move(list));
  Harness h(registry, "consumer: {}\nproducer: {size: 42}\n");
  auto st = registry.build(*h.context);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(seen, 42);
}

// Every factory of the real host, in check mode (no device, no key, no socket, no queue file), from a config that
// declares every section with its required keys only: each reads its whole block, so a key read as always set
// without a schema default fails here as a programming error.
TEST(HostRegistry, EveryFactoryBuildsFromAMinimalConfigInCheckMode) {
  const std::string yaml =
      "secrets:\n"
      "  kms: {region: us-east-1, key_id: 1234abcd-12ab-34cd-56ef-1234567890ab}\n"
      "  sources: [{name: braze.api_key, kms: {encryption_context: {secret: braze.api_key}}}]\n"
      "relay:\n"
      "  listen_transport: tcp\n"
      "  routes: [{listen: '127.0.0.1:0', upstream: 'example.com:443'}]\n"
      "  allowlist: [{address: example.com, port: 443}]\n"
      "serve: {listen: '127.0.0.1:0', attestation: development}\n"
      "forward: {address: '127.0.0.1:1'}\n"
      "provision:\n"
      "  kms: [{name: braze.api_key, ciphertext_file: /nonexistent/braze.ciphertext}]\n"
      "queue: {path: /nonexistent/queue.db}\n"
      "callbacks: {url: 'https://hooks.example.com/cb', secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}\n"
      "ingress: {}\n"
      "demo: {}\n";
  auto doc = parse(yaml);
  ASSERT_TRUE(doc);
  std::set<std::string> declared;
  for (auto it = doc->root().begin(); it != doc->root().end(); ++it) declared.insert(it->first.Scalar());
  for (const auto& f : host::host_registry().factories()) {
    if (f.build) {
      EXPECT_TRUE(declared.count(f.field.key)) << f.field.key << " is not covered by this test's config";
    }
  }
  notify::testing::TempDir dir;
  const auto file = dir.write("all.yaml", yaml);
  auto rt = host::HostRuntime::create(file, {}, host::HostRuntime::Mode::check);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
}

TEST(HostRegistry, CheckModeStillReportsANeedWithItsFileLine) {
  notify::testing::TempDir dir;
  const auto file = dir.write("p.yaml", "node: p\ningress:\n  listen: '127.0.0.1:0'\n");
  auto rt = host::HostRuntime::create(file, {}, host::HostRuntime::Mode::check);
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.error().message, file.string() + ":3:3: ingress: needs a queue: section");
}
