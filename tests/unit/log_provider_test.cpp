// The log provider: one JSON line per notification, one result per notification, simulated failures.
#include "log_provider.hpp"
#include "capturing_log.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace notify;
using notify::logprovider::LogProvider;

TEST(LogProvider, JsonLineCarriesEveryField) {
  Notification n;
  n.request_id = "r-1";
  n.external_user_ids = {"u1", "u2"};
  n.title = "T \"quoted\"";
  n.message = "M";
  n.custom_data = {{"priority", "high"}};
  n.trigger_properties_json = R"({"k": 1})";
  const auto line = LogProvider::to_json_line(n, "log");
  auto obj = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(obj->getValue<std::string>("request_id"), "r-1");
  EXPECT_EQ(obj->getArray("external_user_ids")->size(), 2u);
  EXPECT_EQ(obj->getValue<std::string>("title"), "T \"quoted\"");
  EXPECT_EQ(obj->getObject("custom_data")->getValue<std::string>("priority"), "high");
  EXPECT_EQ(obj->getObject("trigger_properties")->getValue<int>("k"), 1);
}

TEST(LogProvider, WritesOneLinePerDeliveredAndMapsSimulatedFailures) {
  auto path = std::filesystem::temp_directory_path() / ("log-provider-" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(path);
  notify::testing::CapturingLog log;
  logprovider::LogProviderOptions opts;
  opts.output = path.string();
  opts.reject_user_ids = {"bad"};
  opts.retry_user_ids = {"flaky"};
  auto p = LogProvider::open(opts, log);
  ASSERT_TRUE(p.ok());
  std::vector<Notification> batch(4);
  batch[0].request_id = "a";
  batch[0].external_user_ids = {"u"};
  batch[1].request_id = "b";
  batch[1].external_user_ids = {"bad"};
  batch[2].request_id = "c";
  batch[2].external_user_ids = {"flaky"};
  batch[3].request_id = "d";
  batch[3].external_user_ids = {};
  auto r = p.value()->deliver(batch);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].outcome, Outcome::delivered);
  EXPECT_EQ(r[1].outcome, Outcome::rejected);
  EXPECT_EQ(r[2].outcome, Outcome::retryable);
  EXPECT_EQ(r[3].outcome, Outcome::rejected);
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, 1);
  std::filesystem::remove(path);
}

TEST(LogProvider, UnwritableOutputIsAClearError) {
  notify::testing::CapturingLog log;
  logprovider::LogProviderOptions opts;
  opts.output = "/nonexistent-dir/x.jsonl";
  auto p = LogProvider::open(opts, log);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("/nonexistent-dir/x.jsonl"), std::string::npos);
}
