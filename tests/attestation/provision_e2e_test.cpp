// Sealed provisioning end to end, with real processes: notify-ctl (on the "parent") asks the enclave host for a
// development attestation, verifies it, seals the Braze key to the attested public key and sends it; every byte
// crosses a recording relay standing in for the parent. Then a parent host delivers through the enclave's Braze
// plugin to the fake Braze with that key. The key must never appear in the relayed bytes or any log.
#include "fake_braze.hpp"
#include "host_process.hpp"
#include "tcp_transport.hpp"
#include "test_pki.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

using namespace notify;
using namespace notify::testing;
using namespace std::chrono_literals;

namespace {

const std::string kKey = "sealed-braze-key-5e6f7a8b9c0d1e2f";

// A TCP relay that records every byte in both directions: what a curious parent instance would see.
class RecordingRelay {
 public:
  explicit RecordingRelay(std::string upstream) : upstream_(std::move(upstream)) {
    auto l = tcp_.listen("127.0.0.1:0", 8);
    listener_ = std::move(l.value());
    thread_ = std::thread([this] { run(); });
  }
  ~RecordingRelay() {
    stop_ = true;
    listener_->close();
    thread_.join();
  }
  std::string address() const { return listener_->local_address(); }
  std::string recorded() const {
    std::lock_guard lock(mu_);
    return bytes_;
  }

 private:
  void pump(Stream& from, Stream& to) {
    std::array<std::byte, 4096> buf{};
    while (!stop_) {
      auto n = from.read_some(buf, 200ms);
      if (!n && n.error().code == Errc::timed_out) continue;
      if (!n) break;
      {
        std::lock_guard lock(mu_);
        bytes_.append(reinterpret_cast<const char*>(buf.data()), *n);
      }
      if (!to.write_all(std::span(buf).first(*n), 5s)) break;
    }
    to.shutdown();
  }
  void run() {
    std::vector<std::thread> pumps;
    std::vector<std::unique_ptr<Stream>> streams;
    while (!stop_) {
      auto in = listener_->accept(200ms);
      if (!in) continue;
      auto out = tcp_.connect(upstream_, 2s);
      if (!out) continue;
      Stream* a = in.value().get();
      Stream* b = out.value().get();
      streams.push_back(std::move(in.value()));
      streams.push_back(std::move(out.value()));
      pumps.emplace_back([this, a, b] { pump(*a, *b); });
      pumps.emplace_back([this, a, b] { pump(*b, *a); });
    }
    for (auto& s : streams) s->shutdown();
    for (auto& t : pumps) t.join();
  }
  tcp::TcpTransport tcp_;
  std::string upstream_;
  std::unique_ptr<Listener> listener_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::string bytes_;
  std::thread thread_;
};

}  // namespace

TEST(SealedProvisioning, KeyReachesBrazeOnlyThroughTheEnclaveAndNeverCrossesTheParentInClear) {
  TempDir dir;
  auto pki = make_test_pki(dir.path());
  auto fo = FakeBraze::Options::over_tls(pki, kKey);
  FakeBraze fake(fo);

  HostProcess enclave("node: enclave-sealed\n"
                      "secrets: {allow_plaintext: false}\n"
                      "providers:\n"
                      "  - plugin: braze\n"
                      "    config: {endpoint: '" + fake.url() + "', ca_file: '" + pki.ca_cert.string() + "'}\n"
                      "serve: {transport: tcp, listen: '127.0.0.1:0', attestation: development}\n",
                      {{"NOTIFY_LOG", "trace"}});
  auto address = enclave.wait_listening();
  ASSERT_TRUE(address) << enclave.output();
  EXPECT_NE(enclave.output().find("development attestation"), std::string::npos);

  RecordingRelay relay(*address);
  auto key_file = dir.write("braze.key", kKey + "\n");

  // Without explicit consent, a development document is refused and nothing is sent.
  auto refused = run_command({NOTIFY_CTL_BIN, "provision", "--secret", "braze.api_key", "--from-file", key_file.string(),
                              "--transport", "tcp", "--address", relay.address(), "--expect-pcrs",
                              dir.write("pcrs.json", R"({"PCR0": "00"})").string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("REFUSED"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("development"), std::string::npos) << refused.output;

  auto ok = run_command({NOTIFY_CTL_BIN, "provision", "--secret", "braze.api_key", "--from-file", key_file.string(),
                         "--transport", "tcp", "--address", relay.address(), "--allow-development"});
  ASSERT_EQ(ok.exit_code, 0) << ok.output << enclave.output();
  EXPECT_NE(ok.output.find("DEVELOPMENT attestation"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("provisioned: secret 'braze.api_key'"), std::string::npos) << ok.output;
  ASSERT_TRUE(enclave.wait_for("secret 'braze.api_key' installed from a sealed blob", 10s)) << enclave.output();

  // The parent then delivers through the enclave, which now holds the key.
  HostProcess parent("node: parent-sealed\n"
                     "forward: {transport: tcp, address: '" + *address + "'}\n"
                     "demo: {interval: 10ms, count: 2, exit_when_done: true}\n",
                     {{"NOTIFY_LOG", "trace"}});
  auto code = parent.wait(60s);
  ASSERT_TRUE(code);
  EXPECT_EQ(parent.process().count("✅ Notification sent successfully!"), 3u) << parent.output() << enclave.output();
  EXPECT_NE(parent.output().find("Enclave initialized: true"), std::string::npos) << parent.output();
  int authorized = 0;
  for (const auto& r : fake.requests()) authorized += r.authorized ? 1 : 0;
  EXPECT_EQ(authorized, 3);

  const std::string relayed = relay.recorded();
  EXPECT_GT(relayed.size(), 1000u);  // the attestation document and the sealed blob went through
  EXPECT_EQ(relayed.find(kKey), std::string::npos) << "the key crossed the parent in clear";
  EXPECT_EQ(relayed.find("c2VhbGVkLWJyYXplLWtleS"), std::string::npos) << "the key crossed the parent as base64";
  EXPECT_EQ(enclave.output().find(kKey), std::string::npos);
  EXPECT_EQ(parent.output().find(kKey), std::string::npos);
  EXPECT_EQ(ok.output.find(kKey), std::string::npos);
}

TEST(NotifyCtl, AttestationVerifyPrintsTheVerdictAndExitsNonZeroOnFailure) {
  const std::string fixtures = NOTIFY_ATTESTATION_FIXTURES;
  auto good = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation.cbor", "--at",
                           "2024-09-07T14:37:39Z"});
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_NE(good.output.find("module_id: i-0a22e5c5f24d22174-enc0191cceb4289903f"), std::string::npos) << good.output;
  EXPECT_NE(good.output.find("PCR0:"), std::string::npos);
  auto expired = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation.cbor"});
  EXPECT_EQ(expired.exit_code, 1);
  EXPECT_NE(expired.output.find("chain: certificate has expired"), std::string::npos) << expired.output;
  auto debug = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation_debug.cbor",
                            "--at", "2024-09-07T14:38:06Z"});
  EXPECT_EQ(debug.exit_code, 1);
  EXPECT_NE(debug.output.find("debug:"), std::string::npos) << debug.output;
  auto allowed = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation_debug.cbor",
                              "--at", "2024-09-07T14:38:06Z", "--allow-debug"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
  // PCR policy from flags: the right PCR0 passes, a wrong one is named.
  const std::string pcr0 =
      "e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a";
  auto pcr_ok = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation.cbor", "--at",
                             "2024-09-07T14:37:39Z", "--pcr0", pcr0});
  EXPECT_EQ(pcr_ok.exit_code, 0) << pcr_ok.output;
  auto pcr_bad = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation.cbor",
                              "--at", "2024-09-07T14:37:39Z", "--pcr0", std::string(96, '0')});
  EXPECT_EQ(pcr_bad.exit_code, 1) << pcr_bad.output;
  EXPECT_NE(pcr_bad.output.find("pcr: PCR0 mismatch"), std::string::npos) << pcr_bad.output;
  auto bad_time = run_command({NOTIFY_CTL_BIN, "attestation", "verify", fixtures + "/blocky_nitro_attestation.cbor",
                               "--at", "yesterday"});
  EXPECT_EQ(bad_time.exit_code, 64);
  EXPECT_NE(bad_time.output.find("RFC 3339"), std::string::npos);
}
