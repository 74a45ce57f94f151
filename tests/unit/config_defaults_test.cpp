// Defaults live in schemas only: the view fills them in at every depth, the accessors that promise a value refuse a
// key the schema does not guarantee, every schema's defaults parse, and what the services get is what the schemas
// (and the README's config reference) say.
#include "enclave/serve_factory.hpp"
#include "host/host_schema.hpp"
#include "parent/demo_factory.hpp"
#include "parent/forward_factory.hpp"
#include "parent/ingress/ingress_factory.hpp"
#include "parent/provision_factory.hpp"
#include "parent/queue/queue_factory.hpp"
#include "runtime/config/config_document.hpp"
#include "runtime/config/duration.hpp"
#include "runtime/config/schema_check.hpp"
#include "runtime/config/yaml_config_view.hpp"

#include <gtest/gtest.h>

#include <charconv>

using namespace notify;
using namespace notify::config;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<ConfigDocument> validated(const std::string& text) {
  auto d = ConfigDocument::parse(text, "test.yaml", [](const std::string&) { return std::nullopt; });
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
  if (!d.ok()) return nullptr;
  auto st = d.value()->validate(d.value()->root(), host::host_schema(), "");
  EXPECT_TRUE(st.ok()) << st.message();
  return d.value();
}

std::unique_ptr<YamlConfigView> section(const std::shared_ptr<ConfigDocument>& doc, std::string_view key) {
  return host::host_registry().section(doc, key);
}

constexpr FieldSpec kInner[] = {{"depth", FieldType::integer, false, "3", "nested default"}};
constexpr FieldSpec kToy[] = {
    {"name", FieldType::string, true, nullptr, "required"},
    {"port", FieldType::integer, false, "443", "defaulted"},
    {"label", FieldType::string, false, nullptr, "optional, no default"},
    {"token", FieldType::secret, false, "x", "secret"},
    {"inner", FieldType::object, false, nullptr, "nested", kInner, std::size(kInner)},
    {"items", FieldType::object_list, false, nullptr, "list", kInner, std::size(kInner)},
};

YamlConfigView toy_view(const std::shared_ptr<ConfigDocument>& doc) {
  return YamlConfigView(doc, doc->root(), kToy, "toy", "toy");
}

// The default text a schema documents for `section.key` (one level of nesting is enough here).
std::string documented(std::string_view section_key, std::string_view key) {
  const auto* f = host::host_registry().find(section_key);
  if (f == nullptr) return "<no section>";
  for (const auto& c : std::span<const FieldSpec>{f->field.children, f->field.children_size}) {
    if (key == c.key) return c.default_value != nullptr ? c.default_value : "<no default>";
  }
  return "<no key>";
}

std::int64_t documented_int(std::string_view section_key, std::string_view key) {
  const auto text = documented(section_key, key);
  std::int64_t v = -1;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

std::chrono::milliseconds documented_duration(std::string_view section_key, std::string_view key) {
  return parse_duration(documented(section_key, key)).value_or(std::chrono::milliseconds(-1));
}

}  // namespace

TEST(GuaranteedValues, ComeFromTheFileOrTheSchemaAtEveryDepth) {
  auto doc = ConfigDocument::parse("name: a\ninner: {}\nitems: [{}, {depth: 9}]\n", "toy.yaml",
                                   [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(doc.ok());
  auto view = toy_view(doc.value());
  EXPECT_EQ(view.string_value("name"), "a");
  EXPECT_EQ(view.int_value("port"), 443);
  EXPECT_EQ(view.object("inner")->int_value("depth"), 3);
  auto items = view.object_list("items");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]->int_value("depth"), 3);
  EXPECT_EQ(items[1]->int_value("depth"), 9);
  EXPECT_EQ(items[1]->path(), "toy.items[1]");
}

TEST(GuaranteedValues, AKeyTheSchemaDoesNotGuaranteeIsAProgrammingErrorWhateverTheFileHolds) {
  // "label" is optional without a default: even when the file sets it, reading it as always set is refused, so the
  // mistake shows on the first run of any test instead of on the one config that leaves it out.
  auto doc =
      ConfigDocument::parse("name: a\nlabel: set\n", "toy.yaml", [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(doc.ok());
  auto view = toy_view(doc.value());
  try {
    (void)view.string_value("label");
    FAIL() << "no SchemaError";
  } catch (const SchemaError& e) {
    EXPECT_NE(std::string(e.what()).find("toy.label: read as always set, but the schema neither requires it nor gives "
                                         "it a default"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(view.get_string("label"), "set");  // the optional read is the right one
  EXPECT_THROW((void)view.int_value("nosuch"), SchemaError);
  EXPECT_THROW((void)view.string_value("port"), SchemaError);   // wrong type
  EXPECT_THROW((void)view.string_value("token"), SchemaError);  // secrets are read with raw_secret only
}

TEST(SchemaCheck, FindsEveryKindOfSchemaMistake) {
  static constexpr FieldSpec kChild[] = {{"n", FieldType::integer, false, "ten", "bad default"}};
  static constexpr FieldSpec kBad[] = {
      {"a", FieldType::string, true, "x", "required and defaulted"},
      {"b", FieldType::duration, false, "soon", "unparsable duration"},
      {"c", FieldType::boolean, false, "maybe", "unparsable boolean"},
      {"a", FieldType::string, false, nullptr, "declared twice"},
      {"m", FieldType::string_map, false, "k=v", "maps have no scalar default"},
      {"o", FieldType::object, false, nullptr, "nested", kChild, std::size(kChild)},
  };
  auto st = check_schema(kBad, "toy");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::internal);
  for (const char* expected : {"toy.a: required and defaulted ('x')", "toy.b: default 'soon' does not parse",
                               "toy.c: default 'maybe' does not parse", "toy.a: declared twice",
                               "toy.m: default 'k=v' does not parse", "toy.o.n: default 'ten' does not parse"}) {
    EXPECT_NE(st.message().find(expected), std::string::npos) << expected << "\n" << st.message();
  }
  EXPECT_TRUE(check_schema(kToy, "toy").ok());
}

TEST(SchemaCheck, EveryHostSchemaIsWellFormed) {
  // The whole host schema, every section and every nesting level (also part of ServiceRegistry::check()).
  auto st = check_schema(host::host_schema(), "");
  EXPECT_TRUE(st.ok()) << st.message();
}

TEST(EffectiveDefaults, EqualTheDocumentedDefaults) {
  auto doc = validated(
      "serve: {listen: '127.0.0.1:0'}\nforward: {address: '127.0.0.1:1'}\nqueue: {path: q.db}\ningress: {}\n"
      "demo: {}\nprovision: {}\n");
  ASSERT_TRUE(doc);

  auto serve = enclave::serve_config_from(*section(doc, "serve"), "n");
  ASSERT_TRUE(serve.ok()) << serve.error().message;
  EXPECT_EQ(serve->server.max_connections, 64u);
  EXPECT_EQ(static_cast<std::int64_t>(serve->server.max_connections), documented_int("serve", "max_connections"));
  EXPECT_EQ(serve->server.io_timeout, 30s);
  EXPECT_EQ(serve->server.max_frame_bytes, 4194304u);
  EXPECT_EQ(serve->server.worker_threads, 16u);
  EXPECT_EQ(serve->dedup_capacity, 100000u);
  EXPECT_EQ(serve->dedup_ttl, 1h);
  EXPECT_EQ(serve->attestation, "none");
  EXPECT_EQ(serve->log_level, LogLevel::warning);
  EXPECT_EQ(serve->log_buffer, 1000u);
  EXPECT_EQ(serve->transport, "tcp");

  auto queue = parent::queue_config_from(*section(doc, "queue"));
  ASSERT_TRUE(queue.ok()) << queue.error().message;
  EXPECT_EQ(queue->dispatch.batch_size, 50u);
  EXPECT_EQ(queue->dispatch.window, 10u);
  EXPECT_EQ(static_cast<std::int64_t>(queue->dispatch.window), documented_int("queue", "window"));
  EXPECT_EQ(static_cast<std::int64_t>(queue->dispatch.batch_size), documented_int("queue", "batch_size"));
  EXPECT_EQ(queue->dispatch.poll_interval, 200ms);
  EXPECT_EQ(queue->backend, "sqlite");
  EXPECT_EQ(queue->queue.capacity, 100000u);
  EXPECT_EQ(queue->queue.max_attempts, 10);
  EXPECT_EQ(queue->queue.backoff_initial, 1s);
  EXPECT_EQ(queue->queue.backoff_max, 5min);
  EXPECT_EQ(queue->queue.lease, 60s);
  EXPECT_EQ(queue->queue.retention, std::chrono::hours(24 * 7));
  EXPECT_EQ(queue->queue.retention, documented_duration("queue", "retention"));
  EXPECT_EQ(queue->redis.address, "127.0.0.1:6379");
  EXPECT_EQ(queue->redis.group, "notify-parents");

  auto forward = parent::forward_config_from(*section(doc, "forward"), "n");
  ASSERT_TRUE(forward.ok());
  EXPECT_EQ(forward->client.connect_timeout, 5s);
  EXPECT_EQ(forward->client.request_timeout, 30s);
  EXPECT_EQ(forward->client.request_timeout, documented_duration("forward", "request_timeout"));
  EXPECT_EQ(forward->client.backoff_initial, 100ms);
  EXPECT_EQ(forward->client.backoff_max, 10s);
  EXPECT_EQ(forward->client.max_attempts, 5);

  auto ingress = parent::ingress_config_from(*section(doc, "ingress"));
  ASSERT_TRUE(ingress.ok());
  EXPECT_EQ(ingress->listen, "127.0.0.1:8088");
  EXPECT_EQ(ingress->max_body_bytes, 1048576u);
  EXPECT_FALSE(ingress->token.has_value());

  auto demo = parent::demo_config_from(*section(doc, "demo"));
  ASSERT_TRUE(demo.ok());
  EXPECT_EQ(demo->interval, 30s);
  EXPECT_EQ(demo->count, 0);
  EXPECT_EQ(demo->external_user_id, "user123");
  EXPECT_EQ(demo->init_secret_name, "braze.api_key");
  EXPECT_FALSE(demo->init_secret_value.has_value());

  auto provision = parent::provision_config_from(*section(doc, "provision"));
  ASSERT_TRUE(provision.ok());
  EXPECT_EQ(provision->aws_credentials, "imds");
  EXPECT_EQ(provision->imds.endpoint, "http://169.254.169.254");
  EXPECT_EQ(provision->provisioner.check_interval, 10s);
  EXPECT_EQ(provision->provisioner.retry_max, 5min);

  const YamlConfigView root(doc, doc->root(), host::host_schema(), "", "");
  EXPECT_EQ(root.string_value("node"), "notify");
}

TEST(EffectiveDefaults, FileValuesWinOverDefaults) {
  auto doc = validated(
      "serve: {listen: 'any:5000', max_connections: 3, dedup: {ttl: 5m}}\n"
      "queue: {backend: redis, batch_size: 7, redis_consumer: me}\n");
  ASSERT_TRUE(doc);
  auto serve = enclave::serve_config_from(*section(doc, "serve"), "n");
  ASSERT_TRUE(serve.ok());
  EXPECT_EQ(serve->server.max_connections, 3u);
  EXPECT_EQ(serve->dedup_ttl, 5min);
  EXPECT_EQ(serve->dedup_capacity, 100000u);  // its sibling keeps the default
  auto queue = parent::queue_config_from(*section(doc, "queue"));
  ASSERT_TRUE(queue.ok()) << queue.error().message;
  EXPECT_EQ(queue->dispatch.batch_size, 7u);
  EXPECT_EQ(queue->redis.consumer, "me");
}

TEST(EffectiveDefaults, BadValuesNameTheirFileAndLine) {
  auto doc = validated("serve:\n  listen: x\n  attestation: tpm\nqueue:\n  backend: kafka\n");
  ASSERT_TRUE(doc);
  auto serve = enclave::serve_config_from(*section(doc, "serve"), "n");
  ASSERT_FALSE(serve.ok());
  EXPECT_EQ(serve.error().message, "test.yaml:3:16: serve.attestation: 'tpm' is not one of none, nsm, development");
  auto queue = parent::queue_config_from(*section(doc, "queue"));
  ASSERT_FALSE(queue.ok());
  EXPECT_EQ(queue.error().message, "test.yaml:5:12: queue.backend: 'kafka' is not one of sqlite, redis");
  auto sqlite_without_path = validated("queue: {}\n");
  auto q2 = parent::queue_config_from(*section(sqlite_without_path, "queue"));
  ASSERT_FALSE(q2.ok());
  EXPECT_NE(q2.error().message.find("queue.path: required for the sqlite backend"), std::string::npos);
}
