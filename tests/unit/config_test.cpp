// Config: interpolation, schema validation (unknown/wrong type/missing, each with file:line), defaults, redaction.
#include "host/host_schema.hpp"
#include "runtime/config/config_document.hpp"
#include "runtime/config/duration.hpp"
#include "runtime/config/interpolate.hpp"
#include "runtime/config/yaml_config_view.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace notify;
using namespace notify::config;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

constexpr FieldSpec kInner[] = {{"address", FieldType::string, true, nullptr, "where"},
                                {"port", FieldType::integer, false, "443", "port"}};
constexpr FieldSpec kSchema[] = {
    {"name", FieldType::string, true, nullptr, "name"},
    {"count", FieldType::integer, false, "7", "count"},
    {"enabled", FieldType::boolean, false, "true", "on/off"},
    {"interval", FieldType::duration, false, "30s", "period"},
    {"tags", FieldType::string_list, false, "a,b", "tags"},
    {"api_key", FieldType::secret, false, nullptr, "key"},
    {"target", FieldType::object, false, nullptr, "nested", kInner, 2},
    {"routes", FieldType::object_list, false, nullptr, "list", kInner, 2},
};

std::shared_ptr<ConfigDocument> parse_ok(const std::string& text, std::map<std::string, std::string> env = {}) {
  auto d = ConfigDocument::parse(text, "test.yaml", env_of(std::move(env)));
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
  return d.ok() ? d.value() : nullptr;
}

}  // namespace

TEST(Interpolate, SubstitutesSetVariablesAndDefaults) {
  auto r = interpolate("a=${A} b=${B:-fallback} c=${C:-} $$literal", env_of({{"A", "1"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value, "a=1 b=fallback c= $literal");
  EXPECT_EQ(r->variables, (std::vector<std::string>{"A", "B", "C"}));
}

TEST(Interpolate, EmptyVariableTakesDefaultLikeTheShell) {
  auto r = interpolate("${PORT:-5000}", env_of({{"PORT", ""}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value, "5000");
}

TEST(Interpolate, UnsetWithoutDefaultNamesTheVariable) {
  auto r = interpolate("${MISSING_VAR}", env_of({}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("MISSING_VAR is not set"), std::string::npos);
}

TEST(Interpolate, MalformedReferencesAreErrors) {
  EXPECT_FALSE(interpolate("${UNTERMINATED", env_of({})).ok());
  EXPECT_FALSE(interpolate("${1BAD}", env_of({})).ok());
  EXPECT_FALSE(interpolate("${}", env_of({})).ok());
}

TEST(Duration, ParsesUnitsAndRejectsGarbage) {
  EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(parse_duration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(parse_duration("1h"), std::chrono::hours(1));
  EXPECT_EQ(parse_duration("1500"), std::chrono::milliseconds(1500));
  EXPECT_FALSE(parse_duration("5 s"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("soon"));
  EXPECT_FALSE(parse_duration("10y"));
}

TEST(ConfigDocument, InterpolatesScalarsWithoutInjectingStructure) {
  auto doc = parse_ok("name: ${N}\n", {{"N", "x: y\n- z"}});
  ASSERT_TRUE(doc);
  EXPECT_TRUE(doc->root()["name"].IsScalar());
  EXPECT_EQ(doc->root()["name"].Scalar(), "x: y\n- z");
}

TEST(ConfigDocument, InterpolationErrorCarriesFileLineAndKey) {
  auto d = ConfigDocument::parse("a: 1\nname: ${NOPE}\n", "cfg.yaml", env_of({}));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("cfg.yaml:2:7: name: environment variable NOPE is not set"), std::string::npos)
      << d.error().message;
}

TEST(ConfigDocument, SyntaxErrorCarriesFileAndLine) {
  auto d = ConfigDocument::parse("a: 1\nb: [unclosed\n", "broken.yaml", env_of({}));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("broken.yaml:"), std::string::npos);
  EXPECT_NE(d.error().message.find("YAML syntax error"), std::string::npos);
}

TEST(ConfigDocument, UnknownKeyWithHintAndLocation) {
  auto doc = parse_ok("name: a\nintervall: 5s\n");
  auto st = doc->validate(doc->root(), kSchema, "");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("test.yaml:2:1: intervall: unknown key (did you mean 'interval'?)"), std::string::npos)
      << st.message();
}

TEST(ConfigDocument, WrongTypesAreReportedWithLocationAndValue) {
  auto doc = parse_ok("name: a\ncount: many\nenabled: perhaps\ninterval: soon\ntags: x\n");
  auto st = doc->validate(doc->root(), kSchema, "");
  ASSERT_FALSE(st.ok());
  const auto& m = st.message();
  EXPECT_NE(m.find("test.yaml:2:8: count: must be an integer, got 'many'"), std::string::npos) << m;
  EXPECT_NE(m.find("test.yaml:3:10: enabled: must be a boolean"), std::string::npos) << m;
  EXPECT_NE(m.find("test.yaml:4:11: interval: must be a duration"), std::string::npos) << m;
  EXPECT_NE(m.find("test.yaml:5:7: tags: must be a list of strings"), std::string::npos) << m;
}

TEST(ConfigDocument, MissingRequiredKeysIncludingNested) {
  auto doc = parse_ok("count: 1\ntarget:\n  port: 80\nroutes:\n  - port: 1\n");
  auto st = doc->validate(doc->root(), kSchema, "");
  ASSERT_FALSE(st.ok());
  const auto& m = st.message();
  EXPECT_NE(m.find("name: required key is missing"), std::string::npos) << m;
  EXPECT_NE(m.find("test.yaml:3:3: target.address: required key is missing"), std::string::npos) << m;
  EXPECT_NE(m.find("test.yaml:5:5: routes[0].address: required key is missing"), std::string::npos) << m;
}

TEST(ConfigView, DefaultsTypedValuesAndLocations) {
  auto doc =
      parse_ok("name: svc\ncount: 3\ntarget: {address: example.com}\nroutes: [{address: a}, {address: b, port: 8}]\n");
  ASSERT_TRUE(doc->validate(doc->root(), kSchema, "").ok());
  YamlConfigView view(doc, doc->root(), kSchema, "", "svc");
  EXPECT_EQ(view.get_string("name"), "svc");
  EXPECT_EQ(view.get_int("count"), 3);
  EXPECT_EQ(view.get_bool("enabled"), true);                           // default
  EXPECT_EQ(view.get_duration("interval"), std::chrono::seconds(30));  // default
  EXPECT_EQ(view.get_string_list("tags"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(view.get_object("target")->get_int("port"), 443);  // nested default
  auto routes = view.get_object_list("routes");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[1]->get_int("port"), 8);
  EXPECT_EQ(view.location("count"), "test.yaml:2:8");
  EXPECT_EQ(view.secret_name("api_key"), "svc.api_key");
}

TEST(ConfigView, AbsentNestedObjectYieldsItsDefaults) {
  auto doc = parse_ok("name: svc\n");
  ASSERT_TRUE(doc->validate(doc->root(), kSchema, "").ok());
  YamlConfigView view(doc, doc->root(), kSchema, "", "svc");
  auto target = view.get_object("target");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->get_int("port"), 443);
  EXPECT_FALSE(target->get_string("address").has_value());
  EXPECT_TRUE(view.get_object_list("routes").empty());
}

TEST(ConfigView, SecretFieldsAreNotReadableAsStrings) {
  auto doc = parse_ok("name: a\napi_key: super-secret-value\n");
  ASSERT_TRUE(doc->validate(doc->root(), kSchema, "").ok());
  YamlConfigView view(doc, doc->root(), kSchema, "", "braze");
  EXPECT_FALSE(view.get_string("api_key").has_value());
  EXPECT_EQ(view.raw_secret("api_key"), "super-secret-value");
}

TEST(ConfigDocument, DumpRedactsSecretFieldsAndSecretLookingVariables) {
  auto doc = parse_ok("name: a\napi_key: super-secret-value\nother: ${MY_TOKEN}\nplain: ${HOST}\n",
                      {{"MY_TOKEN", "tok-123456"}, {"HOST", "example.org"}});
  constexpr FieldSpec kLoose[] = {{"name", FieldType::string, false, nullptr, ""},
                                  {"api_key", FieldType::secret, false, nullptr, ""},
                                  {"other", FieldType::string, false, nullptr, ""},
                                  {"plain", FieldType::string, false, nullptr, ""}};
  ASSERT_TRUE(doc->validate(doc->root(), kLoose, "").ok());
  const auto dump = doc->dump_redacted();
  EXPECT_EQ(dump.find("super-secret-value"), std::string::npos) << dump;
  EXPECT_EQ(dump.find("tok-123456"), std::string::npos) << dump;
  EXPECT_NE(dump.find("example.org"), std::string::npos) << dump;
  EXPECT_NE(dump.find("<redacted>"), std::string::npos) << dump;
}

TEST(HostSchema, RejectsTyposInTheHostsOwnSections) {
  auto doc = parse_ok("serve:\n  transport: tcp\n  lisen: 127.0.0.1:1\n");
  auto st = doc->validate(doc->root(), host::host_schema(), "");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("test.yaml:3:3: serve.lisen: unknown key (did you mean 'listen'?)"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("serve.listen: required key is missing"), std::string::npos) << st.message();
}
