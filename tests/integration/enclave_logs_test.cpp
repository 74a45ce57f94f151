// The enclave's log lines reach the parent's log over the link (a production enclave has no console): a warning in
// the enclave appears in the parent's log tagged with the enclave's node; lines written while no parent was connected
// arrive when one connects, up to the enclave's buffer, with the exact count of those beyond it; a secret never
// crosses, whatever the level.
#include "host_process.hpp"
#include "tcp_transport.hpp"
#include "wait_until.hpp"

#include <gtest/gtest.h>

#include <regex>

using namespace notify;
using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

// A connection that sends 20 bytes that are not a link frame: the enclave closes it with one warning naming the
// bad magic.
void send_garbage(const std::string& address) {
  tcp::TcpTransport t;
  auto s = t.connect(address, 5s);
  ASSERT_TRUE(s.ok()) << s.error().message;
  const std::string junk = "GET / HTTP/1.1\r\n\r\n..";
  ASSERT_TRUE((*s)->write_all(std::as_bytes(std::span(junk)), 2s).ok());
  std::array<std::byte, 64> buf{};
  (void)(*s)->read_some(buf, 5s);  // until the enclave closes it
}

std::size_t count_matches(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  return static_cast<std::size_t>(
      std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

std::string parent_yaml(const std::string& enclave_address) {
  return "node: parent-logs\nforward: {transport: tcp, address: '" + enclave_address +
         "', backoff_initial: 20ms, backoff_max: 200ms, enclave_logs: 100ms}\n"
         "demo: {enabled: false}\n";
}

}  // namespace

TEST(EnclaveLogs, AWarningInTheEnclaveAppearsInTheParentsLogTaggedWithItsNode) {
  TempDir dir;
  HostProcess enclave("node: enclave-logs\nproviders: [{plugin: log, config: {output: '" +
                      (dir.path() / "out.jsonl").string() + "'}}]\nserve: {transport: tcp, listen: '127.0.0.1:0'}\n");
  const auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  HostProcess parent(parent_yaml(*address));
  ASSERT_TRUE(parent.wait_for("link connected", 20s)) << parent.output();
  send_garbage(*address);
  ASSERT_TRUE(
      parent.wait_for(R"(WARN \[enclave:enclave-logs\] \[link\] closing link connection from .*bad magic)", 20s))
      << parent.output();
  // Below the enclave's serve.logs.level (warning by default) nothing crosses: its info lines stay home.
  EXPECT_EQ(parent.process().count("[enclave:enclave-logs] [link] link connection from"), 0u) << parent.output();
}

TEST(EnclaveLogs, LinesWrittenWhileNoParentReadArriveLaterAndThoseBeyondTheBufferAreCountedExactly) {
  TempDir dir;
  HostProcess enclave("node: enclave-buffer\nproviders: [{plugin: log, config: {output: '" +
                      (dir.path() / "out.jsonl").string() +
                      "'}}]\nserve: {transport: tcp, listen: '127.0.0.1:0', logs: {level: warning, buffer: 5}}\n");
  const auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  for (int i = 0; i < 8; ++i) send_garbage(*address);
  // Every warning or error the enclave wrote before a parent came: the buffer keeps the last 5.
  ASSERT_TRUE(wait_until([&] { return count_matches(enclave.output(), "bad magic") >= 8; }, 10s));
  const auto written = count_matches(enclave.output(), R"((WARN|ERROR) \[)");
  ASSERT_GE(written, 8u);

  HostProcess parent(parent_yaml(*address));
  ASSERT_TRUE(parent.wait_for(R"(the enclave dropped (\d+) log line)", 20s)) << parent.output();
  ASSERT_TRUE(wait_until(
      [&] { return count_matches(parent.output(), R"(\[enclave:enclave-buffer\] \[link\] closing)") >= 5; }, 10s))
      << parent.output();
  const auto dropped = parent.wait_for(R"(the enclave dropped (\d+) log line)", 1s);
  ASSERT_TRUE(dropped);
  EXPECT_EQ(std::stoul(*dropped), written - 5) << "exactly the lines beyond the buffer";
  // The five it kept (the newest), and no more.
  EXPECT_EQ(count_matches(parent.output(), R"(\[enclave:enclave-buffer\] \[link\] closing link connection)"), 5u)
      << parent.output();
}

TEST(EnclaveLogs, NoSecretCrossesEvenAtTraceLevel) {
  TempDir dir;
  const std::string key = "braze-key-that-must-stay-home-0123456789";
  HostProcess enclave(
      "node: enclave-trace\nlog: {level: trace}\n"
      "providers:\n  - plugin: braze\n    config: {endpoint: 'https://127.0.0.1:9', api_key: '${BRAZE_API_KEY}'}\n"
      "serve: {transport: tcp, listen: '127.0.0.1:0', logs: {level: trace}}\n",
      {{"BRAZE_API_KEY", key}, {"NOTIFY_LOG", "trace"}});
  const auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  HostProcess parent(parent_yaml(*address) + "log: {level: trace}\n", {{"NOTIFY_LOG", "trace"}});
  ASSERT_TRUE(parent.wait_for("link connected", 20s)) << parent.output();
  send_garbage(*address);
  ASSERT_TRUE(parent.wait_for(R"(\[enclave:enclave-trace\].*bad magic)", 20s)) << parent.output();
  EXPECT_GT(parent.process().count("[enclave:enclave-trace]"), 1u);
  EXPECT_EQ(parent.output().find(key), std::string::npos) << "the key crossed the link in a log line";
  EXPECT_EQ(enclave.output().find(key), std::string::npos) << "the key is in the enclave's own log";
}
