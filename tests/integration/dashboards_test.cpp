// The shipped dashboard (deploy/grafana/enclave-notify.json) and alert rules (deploy/prometheus/alerts.yml) parse,
// are complete, and query only metrics the code exports: a renamed or removed metric fails here, not on a dashboard
// that silently shows "No data". When promtool is installed (Debian's `prometheus`), every query is also checked as
// PromQL and the alert rules' own unit tests (deploy/prometheus/alerts_test.yml) run.
#include "dashboard_metrics.hpp"
#include "host_process.hpp"

#include <Poco/JSON/Stringifier.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>

using namespace notify::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = NOTIFY_SOURCE_DIR;

/// The C++ sources a parent's /metrics can come from (the core and the plugins), concatenated.
const std::string& exporting_sources() {
  static const std::string all = [] {
    std::string text;
    for (const char* dir : {"core/src", "plugins"}) {
      for (const auto& e : fs::recursive_directory_iterator(kSource / dir)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".cpp" || ext == ".hpp")) text += read_text(e.path()) + "\n";
      }
    }
    return text;
  }();
  return all;
}

/// True when the sources spell `name` as a whole name: not followed by another identifier character (so
/// "notify_accepted" is not found in "notify_accepted_total").
bool exported(const std::string& name) {
  const auto& src = exporting_sources();
  for (auto at = src.find(name); at != std::string::npos; at = src.find(name, at + 1)) {
    const auto next = at + name.size();
    if (next == src.size()) return true;
    const char c = src[next];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':')) return true;
  }
  return false;
}

std::vector<std::string> all_queries() {
  auto queries = dashboard_queries(kSource);
  for (auto& q : alert_queries(kSource)) queries.push_back(std::move(q));
  return queries;
}

std::optional<fs::path> find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto candidate = fs::path(dir) / program;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

}  // namespace

TEST(Dashboards, EveryMetricTheyQueryIsOneTheCodeExports) {
  const auto names = metric_names(all_queries());
  // The extraction works (or every check below would pass vacuously): the panels and alerts the issue asks for.
  for (const char* expected :
       {"notify_accepted_total", "notify_delivered_total", "notify_rejected_total", "notify_retried_total",
        "notify_dead_total", "notify_queue_depth", "notify_link_up", "notify_delivery_latency_seconds_bucket"}) {
    EXPECT_EQ(names.count(expected), 1u) << expected << " is queried by neither the dashboard nor the alerts";
  }
  // And the check can fail: names the code does not export are not found.
  EXPECT_FALSE(exported("notify_made_up_total"));
  EXPECT_FALSE(exported("notify_accepted"));  // only a prefix of notify_accepted_total

  for (const auto& name : names) {
    EXPECT_TRUE(exported(name) || exported(histogram_base(name)))
        << name << " is queried by deploy/grafana or deploy/prometheus but no source in core/src or plugins exports it";
  }
}

TEST(Dashboards, AlertRulesAreCompleteAndCoverTheFailuresOperatorsMustSee) {
  const YAML::Node doc = YAML::LoadFile(alerts_file(kSource).string());
  ASSERT_TRUE(doc["groups"].IsSequence());
  std::set<std::string> alerts;
  for (const auto& group : doc["groups"]) {
    ASSERT_TRUE(group["name"]) << "a rule group without a name";
    for (const auto& rule : group["rules"]) {
      ASSERT_TRUE(rule["alert"]) << "only alerting rules belong in alerts.yml";
      const auto name = rule["alert"].as<std::string>();
      EXPECT_TRUE(alerts.insert(name).second) << name << " is defined twice";
      EXPECT_FALSE(rule["expr"].as<std::string>("").empty()) << name;
      const auto severity = rule["labels"]["severity"].as<std::string>("");
      EXPECT_TRUE(severity == "warning" || severity == "critical") << name << ": severity '" << severity << "'";
      EXPECT_FALSE(rule["annotations"]["summary"].as<std::string>("").empty()) << name;
      EXPECT_FALSE(rule["annotations"]["description"].as<std::string>("").empty()) << name;
    }
  }
  for (const char* required : {"NotifyParentDown", "NotifyEnclaveLinkDown", "NotifyQueueGrowing", "NotifyDeadLetters",
                               "NotifyNotificationsStuck"}) {
    EXPECT_EQ(alerts.count(required), 1u) << required;
  }
}

TEST(Dashboards, DashboardPanelsAreWellFormedAndShowThePipeline) {
  Poco::JSON::Parser parser;
  const auto dash = parser.parse(read_text(dashboard_file(kSource))).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(dash->getValue<std::string>("uid"), "enclave-notify");
  std::set<int> ids;
  std::map<std::string, std::string> queries_by_title;  // panel title -> its expressions, joined
  for (const auto& p : *dash->getArray("panels")) {
    const auto panel = p.extract<Poco::JSON::Object::Ptr>();
    const auto title = panel->getValue<std::string>("title");
    EXPECT_TRUE(ids.insert(panel->getValue<int>("id")).second) << "panel id reused: " << title;
    const auto grid = panel->getObject("gridPos");
    ASSERT_TRUE(grid) << title;
    EXPECT_LE(grid->getValue<int>("x") + grid->getValue<int>("w"), 24) << title;
    if (panel->getValue<std::string>("type") == "row") continue;
    EXPECT_EQ(panel->getObject("datasource")->getValue<std::string>("uid"), "${datasource}") << title;
    const auto targets = panel->getArray("targets");
    ASSERT_TRUE(targets && targets->size() > 0) << title << " has no query";
    std::set<std::string> refs;
    for (const auto& t : *targets) {
      const auto target = t.extract<Poco::JSON::Object::Ptr>();
      EXPECT_TRUE(refs.insert(target->getValue<std::string>("refId")).second) << title;
      const auto expr = target->getValue<std::string>("expr");
      EXPECT_FALSE(expr.empty()) << title;
      queries_by_title[title] += expr + "\n";
    }
  }
  // What issue 12 asks the dashboard to show, each from the metric that measures it.
  const std::map<std::string, std::vector<std::string>> required = {
      {"Throughput",
       {"notify_accepted_total", "notify_delivered_total", "notify_rejected_total", "notify_retried_total",
        "notify_dead_total"}},
      {"Delivery latency (202 to final outcome)", {"histogram_quantile", "notify_delivery_latency_seconds_bucket"}},
      {"Queue depth", {"notify_queue_depth"}},
      {"Dead letters and link failures", {"notify_dead_total"}},
      {"Link to enclave", {"notify_link_up"}},
      {"Enclave state", {"notify_enclave_up", "notify_enclave_secret_state"}},
      {"Provider calls by status", {"notify_provider_calls_total"}},
      {"Provider latency", {"histogram_quantile", "notify_provider_call_duration_seconds_bucket"}},
      {"Provider rate limiting", {"notify_provider_calls_total", "notify_provider_throttled_seconds_total"}},
  };
  for (const auto& [title, needles] : required) {
    ASSERT_EQ(queries_by_title.count(title), 1u) << "no panel '" << title << "'";
    for (const auto& needle : needles) {
      EXPECT_NE(queries_by_title[title].find(needle), std::string::npos) << title << " does not query " << needle;
    }
  }
}

TEST(DashboardsPromtool, QueriesAreValidPromQLAndTheAlertUnitTestsPass) {
  const auto promtool = find_on_path("promtool");
  if (!promtool) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  const auto alerts = run_command({promtool->string(), "check", "rules", alerts_file(kSource).string()});
  EXPECT_EQ(alerts.exit_code, 0) << alerts.output;
  const auto unit = run_command(
      {promtool->string(), "test", "rules", (kSource / "deploy" / "prometheus" / "alerts_test.yml").string()});
  EXPECT_EQ(unit.exit_code, 0) << unit.output;

  // The dashboard's queries, as recording rules (Grafana's variables replaced by what Grafana would put there).
  Poco::JSON::Array::Ptr rules = new Poco::JSON::Array;  // NOLINT: Poco reference-counts it
  int n = 0;
  for (auto expr : dashboard_queries(kSource)) {
    if (expr.rfind("label_values(", 0) == 0) continue;  // a Grafana function (template variable), not PromQL
    replace_all(expr, "$__rate_interval", "5m");
    replace_all(expr, "$__range", "1h");
    replace_all(expr, "$instance", ".*");
    Poco::JSON::Object::Ptr rule = new Poco::JSON::Object;  // NOLINT
    rule->set("record", "dashboard:query_" + std::to_string(++n));
    rule->set("expr", expr);
    rules->add(rule);
  }
  ASSERT_GT(n, 10);
  Poco::JSON::Object::Ptr group = new Poco::JSON::Object;  // NOLINT
  group->set("name", "dashboard");
  group->set("rules", rules);
  Poco::JSON::Array::Ptr groups = new Poco::JSON::Array;  // NOLINT
  groups->add(group);
  Poco::JSON::Object root;
  root.set("groups", groups);
  std::ostringstream json;  // JSON is YAML: promtool reads it as a rule file
  Poco::JSON::Stringifier::stringify(root, json);
  TempDir dir;
  const auto file = dir.write("dashboard-rules.yml", json.str());
  const auto dashboard = run_command({promtool->string(), "check", "rules", file.string()});
  EXPECT_EQ(dashboard.exit_code, 0) << dashboard.output;
  EXPECT_NE(dashboard.output.find("SUCCESS: " + std::to_string(n) + " rules found"), std::string::npos)
      << dashboard.output;
}
