// The enclave's egress and the parent's relay, as shipped: every vsock address the enclave connects to
// (config/enclave.yaml: each provider's egress.address and egress.hosts, the KMS client's egress) has exactly one
// route in both relay configs (config/parent.yaml's relay: block and deploy/relay.yaml), that route leads to the host
// whose name the enclave's TLS verifies there, every route's upstream is allowlisted, and nothing else is routed or
// allowlisted. Variables are resolved as the host resolves them (runtime/config/interpolate), with the defaults and
// with an operator's overrides.
#include "runtime/config/interpolate.hpp"

#include <Poco/URI.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;

const fs::path kSource = NOTIFY_SOURCE_DIR;

struct Resolver {
  Env env;
  std::string operator()(const YAML::Node& node) const {
    if (!node || !node.IsScalar()) return {};
    const auto lookup = [this](const std::string& name) -> std::optional<std::string> {
      const auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    auto r = notify::config::interpolate(node.Scalar(), lookup);
    EXPECT_TRUE(r.ok()) << node.Scalar() << ": " << r.error().message;
    return r.ok() ? r->value : std::string{};
  }
};

/// "3:8081" -> 8081; anything else (another CID, another notation) fails the test and gives -1.
int vsock_port_on_parent(const std::string& address, const std::string& what) {
  const auto colon = address.find(':');
  EXPECT_NE(colon, std::string::npos) << what << ": " << address;
  if (colon == std::string::npos) return -1;
  EXPECT_EQ(address.substr(0, colon), "3") << what << ": the enclave reaches the parent's relay at CID 3";
  try {
    return std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
    ADD_FAILURE() << what << ": no port in " << address;
    return -1;
  }
}

/// host:port of an https URL (port 443 unless written).
std::string origin_of(const std::string& url) {
  Poco::URI u(url);
  return u.getHost() + ":" + std::to_string(u.getPort());
}

struct Egress {
  std::string who;       // "providers[fcm].egress.address", ...
  std::string tls_host;  // host:port the enclave's TLS verifies over this connection
};

/// Every place the enclave leaves through the relay: vsock port -> what uses it.
std::multimap<int, Egress> enclave_egress(const Resolver& r) {
  const auto doc = YAML::LoadFile((kSource / "config" / "enclave.yaml").string());
  std::multimap<int, Egress> out;
  const auto kms = doc["secrets"]["kms"];
  EXPECT_EQ(r(kms["egress"]["transport"]), "vsock");
  std::string kms_host = r(kms["endpoint"]);
  kms_host = kms_host.empty() ? "kms." + r(kms["region"]) + ".amazonaws.com:443" : origin_of(kms_host);
  out.emplace(vsock_port_on_parent(r(kms["egress"]["address"]), "secrets.kms.egress.address"),
              Egress{"secrets.kms.egress", kms_host});
  for (const auto& p : doc["providers"]) {
    const std::string name = r(p["name"]).empty() ? r(p["plugin"]) : r(p["name"]);
    const auto config = p["config"];
    const auto egress = config["egress"];
    EXPECT_EQ(r(egress["transport"]), "vsock") << name;
    const std::string url = config["endpoint"] ? r(config["endpoint"]) : r(config["url"]);
    EXPECT_FALSE(url.empty()) << name << ": no endpoint or url";
    const std::string what = "providers[" + name + "].egress";
    out.emplace(vsock_port_on_parent(r(egress["address"]), what + ".address"), Egress{what, origin_of(url)});
    for (const auto& h : egress["hosts"]) {
      const std::string host = h.first.Scalar();
      out.emplace(vsock_port_on_parent(r(h.second), what + ".hosts." + host),
                  Egress{what + ".hosts." + host, host.find(':') == std::string::npos ? host + ":443" : host});
    }
  }
  return out;
}

struct Relay {
  std::multimap<int, std::string> routes;  // listen port -> upstream host:port
  std::multiset<std::string> allowlist;    // host:port
  std::vector<std::string> raw_routes;     // as written, before resolution: "listen -> upstream"
};

Relay relay_of(const fs::path& file, const Resolver& r) {
  const auto relay = YAML::LoadFile(file.string())["relay"];
  Relay out;
  EXPECT_EQ(r(relay["listen_transport"]), "vsock") << file;
  for (const auto& route : relay["routes"]) {
    const auto listen = r(route["listen"]);
    EXPECT_EQ(listen.rfind("any:", 0), 0u) << file << ": " << listen;
    out.routes.emplace(std::stoi(listen.substr(listen.find(':') + 1)), r(route["upstream"]));
    out.raw_routes.push_back(route["listen"].Scalar() + " -> " + route["upstream"].Scalar());
  }
  for (const auto& a : relay["allowlist"]) out.allowlist.insert(r(a["address"]) + ":" + r(a["port"]));
  return out;
}

void expect_routes_match_egress(const Env& env) {
  const Resolver r{env};
  const auto egress = enclave_egress(r);
  std::set<int> ports;
  for (const auto& [port, e] : egress) ports.insert(port);
  // The KMS client, Braze, FCM (messages and OAuth), APNs, the webhook: six upstream hosts, six ports.
  EXPECT_EQ(ports.size(), 6u);
  EXPECT_EQ(egress.size(), 6u) << "two enclave clients share a vsock port";

  for (const auto& file : {kSource / "config" / "parent.yaml", kSource / "deploy" / "relay.yaml"}) {
    SCOPED_TRACE(file.string());
    const auto relay = relay_of(file, r);
    std::set<int> routed;
    for (const auto& [port, upstream] : relay.routes) {
      EXPECT_EQ(relay.routes.count(port), 1u) << "vsock port " << port << " routed twice";
      EXPECT_EQ(ports.count(port), 1u) << "vsock port " << port << " -> " << upstream << ": no enclave egress uses it";
      EXPECT_EQ(relay.allowlist.count(upstream), 1u) << upstream << " is routed but not allowlisted exactly once";
      routed.insert(port);
    }
    EXPECT_EQ(routed, ports);
    // Each route leads to the host the enclave's TLS verifies on that port (else the handshake fails, or the
    // enclave's calls land at the wrong service).
    for (const auto& [port, e] : egress) {
      const auto route = relay.routes.find(port);
      ASSERT_NE(route, relay.routes.end()) << e.who << " connects to 3:" << port << ", which has no route";
      EXPECT_EQ(route->second, e.tls_host) << e.who << " (3:" << port << ")";
    }
    std::multiset<std::string> upstreams;
    for (const auto& [port, upstream] : relay.routes) upstreams.insert(upstream);
    EXPECT_EQ(relay.allowlist, upstreams) << "the allowlist names exactly the routed upstreams";
  }
}

}  // namespace

TEST(RelayRoutes, EveryEnclaveEgressHasOneAllowlistedRouteInBothRelayConfigs) {
  // The image's defaults; KMS_KEY_ID is baked in by deploy/build-eif.sh.
  expect_routes_match_egress({{"KMS_KEY_ID", "arn:aws:kms:us-east-1:111122223333:key/1234abcd"}});
}

TEST(RelayRoutes, TheOperatorsVariablesMoveRouteAndAllowlistTogether) {
  // What an operator changes: the region, the APNs sandbox, a webhook receiver on its own port — on the parent and,
  // for the TLS names, in the image. Routes and allowlist still agree, and with the enclave.
  expect_routes_match_egress({{"KMS_KEY_ID", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd"},
                              {"AWS_REGION", "eu-west-1"},
                              {"PROXY_HOST", "rest.fra-01.braze.eu"},
                              {"BRAZE_API_ENDPOINT", "https://rest.fra-01.braze.eu"},
                              {"APNS_HOST", "api.sandbox.push.apple.com"},
                              {"APNS_ENDPOINT", "https://api.sandbox.push.apple.com"},
                              {"WEBHOOK_HOST", "hooks.example.com"},
                              {"WEBHOOK_PORT", "8443"},
                              {"WEBHOOK_URL", "https://hooks.example.com:8443/notify"}});
}

TEST(RelayRoutes, TheTwoRelayConfigsCarryTheSameRoutesAsWritten) {
  const Resolver r{{}};
  const auto parent = relay_of(kSource / "config" / "parent.yaml", r);
  const auto apart = relay_of(kSource / "deploy" / "relay.yaml", r);
  EXPECT_EQ(parent.raw_routes, apart.raw_routes);
  EXPECT_EQ(parent.allowlist, apart.allowlist);
  // The fixed ports the README and the configs document.
  const std::map<int, std::string> expected = {
      {8080, "rest.iad-01.braze.com:443"}, {8000, "kms.us-east-1.amazonaws.com:443"}, {8081, "fcm.googleapis.com:443"},
      {8082, "oauth2.googleapis.com:443"}, {8083, "api.push.apple.com:443"},          {8084, "webhook.invalid:443"}};
  const std::map<int, std::string> routed(parent.routes.begin(), parent.routes.end());
  EXPECT_EQ(routed, expected);
}
