#include "https_test_server.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <cctype>

namespace notify::testing {

struct HttpsTestServer::Access {
  static void handle(HttpsTestServer& s, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
    Request r;
    r.method = req.getMethod();
    r.path = req.getURI();
    r.host = req.getHost();
    for (const auto& [name, value] : req) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      r.headers[lower] = value;
    }
    Poco::StreamCopier::copyToString(req.stream(), r.body);
    r.client_port = req.clientAddress().port();
    {
      std::lock_guard lock(s.mu_);
      s.requests_.push_back(r);
      s.client_ports_.insert(r.client_port);
      s.max_active_ = std::max(s.max_active_, ++s.active_);
    }
    Reply reply = s.handler_(r);
    {
      std::unique_lock lock(s.mu_);
      if (reply.delay.count() > 0) s.cv_.wait_for(lock, reply.delay, [&] { return s.stopping_; });
    }
    if (reply.drop) {
      // The connection goes away with the request read and no response: what a crashed or cut-off server does.
      auto socket = static_cast<Poco::Net::HTTPServerRequestImpl&>(req).detachSocket();
      socket.shutdown();
      socket.close();
    } else {
      resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
      for (const auto& [name, value] : reply.headers) resp.set(name, value);
      resp.setContentLength(static_cast<std::streamsize>(reply.body.size()));
      resp.send() << reply.body;
    }
    std::lock_guard lock(s.mu_);
    --s.active_;
    s.cv_.notify_all();
  }
};

namespace {

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(HttpsTestServer& s) : s_(s) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
    HttpsTestServer::Access::handle(s_, req, resp);
  }

 private:
  HttpsTestServer& s_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(HttpsTestServer& s) : s_(s) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(s_);  // NOLINT(cppcoreguidelines-owning-memory): Poco takes ownership
  }

 private:
  HttpsTestServer& s_;
};

}  // namespace

HttpsTestServer::HttpsTestServer(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                                 Handler handler)
    : handler_(std::move(handler)), tls_(!cert_file.empty()) {
  auto* params = new Poco::Net::HTTPServerParams();  // NOLINT(cppcoreguidelines-owning-memory): reference counted
  params->setMaxThreads(32);
  params->setMaxQueued(256);
  params->setKeepAlive(true);
  Poco::Net::SocketAddress address("127.0.0.1", 0);
  if (tls_) {
    Poco::Net::Context::Params cp;
    cp.privateKeyFile = key_file.string();
    cp.certificateFile = cert_file.string();
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

HttpsTestServer::~HttpsTestServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  server_->stopAll(true);
  // stopAll does not wait for handlers already running; they use this object.
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return active_ == 0; });
}

std::string HttpsTestServer::url(const std::string& host) const {
  return std::string(tls_ ? "https://" : "http://") + host + ":" + std::to_string(port_);
}

std::vector<HttpsTestServer::Request> HttpsTestServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::size_t HttpsTestServer::max_concurrent() const {
  std::lock_guard lock(mu_);
  return max_active_;
}

std::size_t HttpsTestServer::distinct_connections() const {
  std::lock_guard lock(mu_);
  return client_ports_.size();
}

}  // namespace notify::testing
