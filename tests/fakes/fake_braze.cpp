#include "fake_braze.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <sstream>
#include <thread>

namespace notify::testing {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(FakeBraze& fake) : fake_(fake) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
    fake_.handle(req, resp);
  }

 private:
  FakeBraze& fake_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(FakeBraze& fake) : fake_(fake) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(fake_);  // NOLINT: Poco takes ownership
  }

 private:
  FakeBraze& fake_;
};

std::string json_message(const std::string& m) {
  Object o;
  o.set("message", m);
  std::ostringstream os;
  o.stringify(os);
  return os.str();
}

std::size_t json_size(const Poco::Dynamic::Var& v) {
  std::ostringstream os;
  Poco::JSON::Stringifier::stringify(v, os);
  return os.str().size();
}

// Returns "" when the body follows the contract of `path`, else Braze-like error text. Fills `recipients`.
std::string validate(const std::string& path, const Object& body, std::vector<std::string>& recipients) {
  auto strings = [&](const Array& a, const std::string& what) -> std::string {
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a.get(i).isString()) return what + " must contain strings";
      recipients.push_back(a.get(i).toString());
    }
    return {};
  };
  if (path == "/messages/send") {
    if (body.has("recipients")) return "/messages/send does not take recipients";
    if (body.has("trigger_properties")) return "/messages/send does not take trigger_properties";
    auto ids = body.getArray("external_user_ids");
    if (!ids) return "external_user_ids is required";
    if (ids->size() == 0) return "external_user_ids must not be empty";
    if (ids->size() > 50)
      return "external_user_ids has " + std::to_string(ids->size()) + " entries; at most 50 allowed";
    if (auto e = strings(*ids, "external_user_ids"); !e.empty()) return e;
    auto messages = body.getObject("messages");
    if (!messages) return "messages is required";
    if (!messages->has("apple_push") && !messages->has("android_push")) return "messages has no push object";
    for (const char* platform : {"apple_push", "android_push"}) {
      if (!messages->has(platform)) continue;
      auto p = messages->getObject(platform);
      if (!p) return std::string(platform) + " must be an object";
      const std::size_t limit = std::string(platform) == "apple_push" ? 1912 : 4000;
      if (json_size(messages->get(platform)) > limit)
        return std::string(platform) + " is over " + std::to_string(limit) + " bytes";
      if (!p->has("alert")) return std::string(platform) + ".alert is required";
      if (auto extra = p->getObject("extra")) {
        if (extra->has("ab") || extra->has("aps"))
          return std::string(platform) + ".extra uses a reserved key (ab, aps)";
      }
    }
    return {};
  }
  const bool campaign = path == "/campaigns/trigger/send";
  const char* id_key = campaign ? "campaign_id" : "canvas_id";
  const char* props_key = campaign ? "trigger_properties" : "canvas_entry_properties";
  if (!body.has(id_key) || !body.get(id_key).isString()) return std::string(id_key) + " is required";
  auto list = body.getArray("recipients");
  if (!list) return "recipients is required";
  if (list->size() > 50) return "recipients has " + std::to_string(list->size()) + " entries; at most 50 allowed";
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto r = list->getObject(static_cast<unsigned>(i));
    if (!r || !r->has("external_user_id")) return "recipients[" + std::to_string(i) + "].external_user_id is required";
    if (r->has(props_key) && !r->getObject(props_key)) return std::string(props_key) + " must be an object";
    recipients.push_back(r->getValue<std::string>("external_user_id"));
  }
  return {};
}

}  // namespace

FakeBraze::FakeBraze(Options options) : options_(std::move(options)) {
  auto params = new Poco::Net::HTTPServerParams();  // NOLINT: Poco reference-counts it
  params->setMaxThreads(options_.threads);
  params->setMaxQueued(256);
  params->setKeepAlive(true);
  Poco::Net::SocketAddress address("127.0.0.1", options_.port);
  if (options_.tls) {
    Poco::Net::Context::Params cp;
    cp.privateKeyFile = options_.key_file.string();
    cp.certificateFile = options_.cert_file.string();
    cp.verificationMode = Poco::Net::Context::VERIFY_NONE;
    cp.loadDefaultCAs = false;
    Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::SERVER_USE, cp);  // NOLINT
    Poco::Net::SecureServerSocket socket(address, 64, ctx);
    port_ = socket.address().port();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);  // NOLINT
  } else {
    Poco::Net::ServerSocket socket(address, 64);
    port_ = socket.address().port();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);  // NOLINT
  }
  server_->start();
}

FakeBraze::~FakeBraze() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stall_cv_.notify_all();
  server_->stopAll(true);
  // stopAll does not wait for handlers already running; they use this object, so wait for them here.
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return active_handlers_ == 0; });
}

std::string FakeBraze::url() const {
  return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

void FakeBraze::inject(Injection injection, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) injections_.push_back(injection);
}

void FakeBraze::set_latency(std::chrono::milliseconds latency) {
  std::lock_guard lock(mu_);
  latency_ = latency;
}

std::vector<FakeBraze::Recorded> FakeBraze::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::size_t FakeBraze::max_concurrent_requests() const {
  std::lock_guard lock(mu_);
  return max_active_handlers_;
}

std::map<std::string, int> FakeBraze::accepted_recipients() const {
  std::lock_guard lock(mu_);
  return accepted_;
}

void FakeBraze::handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
  {
    std::lock_guard lock(mu_);
    ++active_handlers_;
    max_active_handlers_ = std::max(max_active_handlers_, active_handlers_);
  }
  struct Done {
    FakeBraze& f;
    ~Done() {
      {
        std::lock_guard lock(f.mu_);
        --f.active_handlers_;
      }
      f.idle_cv_.notify_all();
    }
  } done{*this};
  Recorded rec;
  rec.method = req.getMethod();
  rec.path = req.getURI();
  rec.content_type = req.getContentType();
  rec.host = req.getHost();
  rec.authorized = req.get("Authorization", "") == "Bearer " + options_.api_key;
  Poco::StreamCopier::copyToString(req.stream(), rec.body);

  Injection inj;
  std::chrono::milliseconds latency{0};
  {
    std::unique_lock lock(mu_);
    if (!injections_.empty()) {
      inj = injections_.front();
      injections_.pop_front();
    }
    latency = latency_;
    // Waits end early when the fake stops, so shutdown never waits out a test's injected delay.
    const auto wait = inj.stall ? std::chrono::milliseconds(60000) : latency + inj.delay;
    if (wait.count() > 0) stall_cv_.wait_for(lock, wait, [this] { return stopping_; });
  }

  auto send = [&](int status, const std::string& body, const std::string& type = "application/json") {
    rec.status = status;
    resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    resp.setContentType(type);
    for (const auto& [k, v] : inj.headers) resp.set(k, v);
    resp.setContentLength(static_cast<std::streamsize>(body.size()));
    resp.send() << body;
    std::lock_guard lock(mu_);
    requests_.push_back(rec);
  };

  if (inj.stall) return send(503, json_message("stalled"));
  if (inj.status != 0) return send(inj.status, inj.body, inj.body.starts_with("{") ? "application/json" : "text/html");
  if (rec.method != "POST") return send(405, json_message("method not allowed"));
  if (rec.path != "/messages/send" && rec.path != "/campaigns/trigger/send" && rec.path != "/canvas/trigger/send") {
    return send(404, json_message("no such endpoint: " + rec.path));
  }
  if (!rec.authorized) return send(401, json_message("Invalid API key"));
  if (rec.content_type.rfind("application/json", 0) != 0)
    return send(400, json_message("Content-Type must be application/json"));
  Object::Ptr body;
  try {
    auto v = Poco::JSON::Parser().parse(rec.body);
    if (v.type() != typeid(Object::Ptr)) return send(400, json_message("body must be a JSON object"));
    body = v.extract<Object::Ptr>();
  } catch (const std::exception&) {
    return send(400, json_message("Invalid JSON"));
  }
  std::vector<std::string> recipients;
  std::string problem;
  try {
    problem = validate(rec.path, *body, recipients);
  } catch (const std::exception& e) {
    problem = std::string("malformed request: ") + e.what();
  }
  if (!problem.empty()) return send(400, json_message(problem));

  Object ok(Poco::JSON_PRESERVE_KEY_ORDER);
  std::string dispatch;
  {
    std::lock_guard lock(mu_);
    dispatch = "fake-dispatch-" + std::to_string(next_dispatch_++);
    for (const auto& r : recipients) {
      bool failed = false;
      for (const auto& e : inj.minor_errors) failed = failed || e.find(r) != std::string::npos;
      if (!failed) ++accepted_[r];
    }
  }
  rec.recipients = recipients;
  ok.set("dispatch_id", dispatch);
  ok.set("message", std::string("success"));
  if (!inj.minor_errors.empty()) {
    Array::Ptr errors = new Array();
    for (const auto& e : inj.minor_errors) errors->add(e);
    ok.set("errors", errors);
  }
  std::ostringstream os;
  ok.stringify(os);
  inj.headers.emplace("X-RateLimit-Limit", "250000");
  inj.headers.emplace("X-RateLimit-Remaining", "249000");
  send(201, os.str());
}

}  // namespace notify::testing
