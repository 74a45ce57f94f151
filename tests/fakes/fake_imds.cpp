#include "fake_imds.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/NullStream.h>
#include <Poco/StreamCopier.h>

#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <sstream>
#include <stdexcept>

namespace notify::testing {
namespace {

constexpr const char* kTokenPath = "/latest/api/token";
constexpr const char* kCredentialsPath = "/latest/meta-data/iam/security-credentials/";

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(FakeImds& fake) : fake_(fake) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
    fake_.handle(req, resp);
  }

 private:
  FakeImds& fake_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(FakeImds& fake) : fake_(fake) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(fake_);  // NOLINT: Poco takes ownership
  }

 private:
  FakeImds& fake_;
};

std::string random_token() {
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("fake imds: RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "AQAEA";  // real tokens are opaque base64-ish text; the prefix only makes them look the part
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string utc_now_rfc3339() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

FakeImds::FakeImds() : FakeImds(Options{}) {}

FakeImds::FakeImds(Options options) : options_(std::move(options)) {
  auto params = new Poco::Net::HTTPServerParams();  // NOLINT: Poco reference-counts it
  params->setMaxThreads(options_.threads);
  params->setMaxQueued(64);
  params->setKeepAlive(true);
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 64);
  port_ = socket.address().port();
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);  // NOLINT
  server_->start();
}

FakeImds::~FakeImds() {
  server_->stopAll(true);
  // stopAll does not wait for handlers already running; they use this object, so wait for them here.
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return active_handlers_ == 0; });
}

std::string FakeImds::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeImds::set_credentials(ServedCredentials credentials) {
  std::lock_guard lock(mu_);
  options_.credentials = std::move(credentials);
}

void FakeImds::set_role(std::string role) {
  std::lock_guard lock(mu_);
  options_.role = std::move(role);
}

void FakeImds::revoke_tokens() {
  std::lock_guard lock(mu_);
  tokens_.clear();
}

void FakeImds::fail_token_requests(int status) {
  std::lock_guard lock(mu_);
  token_fault_ = status;
}

FakeImds::Counts FakeImds::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::vector<FakeImds::Recorded> FakeImds::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeImds::handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
  {
    std::lock_guard lock(mu_);
    ++active_handlers_;
  }
  struct Done {
    FakeImds& f;
    ~Done() {
      {
        std::lock_guard lock(f.mu_);
        --f.active_handlers_;
      }
      f.idle_cv_.notify_all();
    }
  } done{*this};

  Poco::NullOutputStream sink;
  Poco::StreamCopier::copyStream(req.stream(), sink);  // IMDS ignores request bodies
  Recorded rec;
  rec.method = req.getMethod();
  rec.path = req.getURI();
  rec.had_token = req.has("X-aws-ec2-metadata-token");

  auto send = [&](int status, const std::string& body, const std::string& type = "text/plain") {
    rec.status = status;
    resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    resp.setContentType(type);
    resp.setContentLength(static_cast<std::streamsize>(body.size()));
    resp.send() << body;
    std::lock_guard lock(mu_);
    ++counts_.total;
    if (status == 401) ++counts_.unauthorized;
    requests_.push_back(rec);
  };

  if (rec.path == kTokenPath) {
    if (rec.method != "PUT") return send(405, "");
    // IMDS refuses token requests that went through a proxy (the hop limit's companion check).
    if (req.has("X-Forwarded-For")) return send(403, "");
    int fault = 0;
    {
      std::lock_guard lock(mu_);
      fault = token_fault_;
    }
    if (fault != 0) return send(fault, "");
    const std::string ttl_text = req.get("X-aws-ec2-metadata-token-ttl-seconds", "");
    int ttl = 0;
    auto [ptr, ec] = std::from_chars(ttl_text.data(), ttl_text.data() + ttl_text.size(), ttl);
    if (ttl_text.empty() || ec != std::errc{} || ptr != ttl_text.data() + ttl_text.size() || ttl < 1 || ttl > 21600) {
      return send(400, "");
    }
    const std::string token = random_token();
    {
      std::lock_guard lock(mu_);
      tokens_.push_back({token, std::chrono::steady_clock::now() + std::chrono::seconds(ttl)});
      ++counts_.token_puts;
    }
    resp.set("X-aws-ec2-metadata-token-ttl-seconds", ttl_text);
    return send(200, token);
  }

  if (rec.method != "GET") return send(405, "");
  bool live = false;
  {
    const std::string presented = req.get("X-aws-ec2-metadata-token", "");
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    live = !presented.empty() && std::any_of(tokens_.begin(), tokens_.end(),
                                             [&](const Token& t) { return t.value == presented && t.expires > now; });
  }
  if (!live) return send(401, "");

  if (!rec.path.starts_with(kCredentialsPath)) return send(404, "");
  const std::string rest = rec.path.substr(std::string(kCredentialsPath).size());
  std::string role;
  ServedCredentials creds;
  {
    std::lock_guard lock(mu_);
    role = options_.role;
    creds = options_.credentials;
  }
  if (rest.empty()) {
    {
      std::lock_guard lock(mu_);
      ++counts_.role_listings;
    }
    return send(200, role);
  }
  if (rest != role) return send(404, "");
  Poco::JSON::Object body(Poco::JSON_PRESERVE_KEY_ORDER);
  body.set("Code", creds.code);
  body.set("LastUpdated", utc_now_rfc3339());
  body.set("Type", std::string("AWS-HMAC"));
  body.set("AccessKeyId", creds.access_key_id);
  body.set("SecretAccessKey", creds.secret_access_key);
  body.set("Token", creds.token);
  body.set("Expiration", creds.expiration);
  std::ostringstream os;
  body.stringify(os, 2);
  {
    std::lock_guard lock(mu_);
    ++counts_.credential_gets;
  }
  send(200, os.str());
}

}  // namespace notify::testing
