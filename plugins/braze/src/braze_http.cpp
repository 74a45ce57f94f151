#include "braze_http.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

namespace notify::braze {
namespace {

constexpr std::size_t kMaxResponseBytes = 1 << 20;

// Poco owns socket implementations through its own reference counting; this adopts an fd we already connected.
class AdoptedSocket final : public Poco::Net::StreamSocket {
 public:
  explicit AdoptedSocket(int fd) : Poco::Net::StreamSocket(new Poco::Net::StreamSocketImpl(fd)) {}  // NOLINT
};

Poco::Timespan to_timespan(std::chrono::milliseconds d) { return Poco::Timespan(d.count() * 1000); }

// Poco's OpenSSL initialisation is reference counted and must be paired; this object lives until the plugin is
// unloaded (or the process exits), so the pairing holds however many clients were made.
struct SslRuntime {
  explicit SslRuntime(const Poco::Net::Context::Ptr& ctx) {
    Poco::Net::initializeSSL();
    // Never prompt, never accept: a certificate that fails verification fails the connection.
    Poco::Net::SSLManager::InvalidCertificateHandlerPtr reject(new Poco::Net::RejectCertificateHandler(false));  // NOLINT
    Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, ctx);
  }
  ~SslRuntime() { Poco::Net::uninitializeSSL(); }
  SslRuntime(const SslRuntime&) = delete;
  SslRuntime& operator=(const SslRuntime&) = delete;
};

void init_ssl_once(const Poco::Net::Context::Ptr& ctx) { static SslRuntime runtime(ctx); }

}  // namespace

std::string Endpoint::host_header() const {
  const bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return default_port ? host : host + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return Error{Errc::invalid_argument, "braze endpoint '" + std::string(url) + "': " + why};
  };
  Endpoint e;
  std::string_view rest;
  if (url.starts_with("https://")) {
    e.scheme = "https";
    e.port = 443;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    e.scheme = "http";
    e.port = 80;
    rest = url.substr(7);
  } else {
    return bad("must start with https:// (or http:// with allow_insecure_http)");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return bad("must not contain a path");
  std::string_view hostport = rest;
  if (auto colon = hostport.rfind(':'); colon != std::string_view::npos && hostport.find(']') == std::string_view::npos) {
    unsigned p = 0;
    auto ps = hostport.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), p);
    if (ec != std::errc{} || ptr != ps.data() + ps.size() || p == 0 || p > 65535) return bad("bad port");
    e.port = static_cast<std::uint16_t>(p);
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) return bad("no host");
  e.host = std::string(hostport);
  return e;
}

struct BrazeHttpClient::Connection {
  Poco::Net::StreamSocket socket;
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  bool reused = false;
};

BrazeHttpClient::BrazeHttpClient(TransportRegistry& transports, HttpOptions options, Log& log)
    : transports_(transports), options_(std::move(options)), log_(log),
      slots_(static_cast<std::ptrdiff_t>(std::clamp<std::size_t>(options_.pool_size, 1, 1024))) {
  if (options_.egress_address.empty()) {
    options_.egress_address = options_.endpoint.host + ":" + std::to_string(options_.endpoint.port);
  }
  if (options_.endpoint.scheme == "https") {
    Poco::Net::Context::Params params;
    params.caLocation = options_.ca_file;
    params.loadDefaultCAs = options_.ca_file.empty();
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.verificationDepth = 9;
    params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES";
    tls_ = new Poco::Net::Context(Poco::Net::Context::CLIENT_USE, params);  // NOLINT: Poco's AutoPtr owns it
    tls_->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    init_ssl_once(tls_);
  }
}

BrazeHttpClient::~BrazeHttpClient() = default;

std::unique_ptr<BrazeHttpClient::Connection> BrazeHttpClient::take_idle() {
  std::lock_guard lock(mu_);
  if (idle_.empty()) return nullptr;
  auto c = std::move(idle_.back());
  idle_.pop_back();
  c->reused = true;
  return c;
}

void BrazeHttpClient::give_back(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.pool_size) idle_.push_back(std::move(c));
}

Result<std::unique_ptr<BrazeHttpClient::Connection>> BrazeHttpClient::open() {
  auto transport = transports_.transport(options_.egress_transport);
  if (!transport) return transport.error();
  auto stream = transport.value()->connect(options_.egress_address, options_.connect_timeout);
  if (!stream) return stream.error();
  auto c = std::make_unique<Connection>();
  try {
    AdoptedSocket plain(stream.value()->release());
    plain.setReceiveTimeout(to_timespan(options_.tls_timeout));
    plain.setSendTimeout(to_timespan(options_.tls_timeout));
    if (tls_) {
      // attach() runs the handshake with SNI and verifies the chain and the host name against the endpoint host.
      c->socket = Poco::Net::SecureStreamSocket::attach(plain, options_.endpoint.host, tls_);
    } else {
      c->socket = plain;
    }
    c->socket.setReceiveTimeout(to_timespan(options_.request_timeout));
    c->socket.setSendTimeout(to_timespan(options_.request_timeout));
    c->session = std::make_unique<Poco::Net::HTTPClientSession>(c->socket);
    c->session->setKeepAlive(true);
    c->session->setTimeout(to_timespan(options_.request_timeout));
  } catch (const Poco::TimeoutException&) {
    return Error{Errc::timed_out, "TLS handshake with " + options_.endpoint.host + " via " + options_.egress_address +
                                      " timed out"};
  } catch (const Poco::Net::SSLException& e) {
    return Error{Errc::refused, "TLS with " + options_.endpoint.host + " via " + options_.egress_address +
                                    " failed: " + e.displayText()};
  } catch (const Poco::Exception& e) {
    return Error{Errc::io_error, "connection to " + options_.endpoint.host + " via " + options_.egress_address +
                                     " failed: " + e.displayText()};
  }
  return c;
}

Result<HttpResponse> BrazeHttpClient::post(const std::string& path, const std::string& body, std::string_view api_key,
                                           bool& maybe_delivered) {
  maybe_delivered = false;
  if (!slots_.try_acquire_for(options_.request_timeout)) {
    return Error{Errc::timed_out, "POST " + path + ": all " + std::to_string(options_.pool_size) +
                                      " connections to " + options_.endpoint.host + " stayed busy for " +
                                      std::to_string(options_.request_timeout.count()) + " ms"};
  }
  struct Release {
    std::counting_semaphore<1024>& s;
    ~Release() { s.release(); }
  } release{slots_};
  // One extra try only for a pooled connection that the server had already closed (EOF before any response byte).
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> c = take_idle();
    if (!c) {
      auto opened = open();
      if (!opened) return opened.error();
      c = std::move(opened.value());
    }
    bool sent = false;
    try {
      Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, path, Poco::Net::HTTPMessage::HTTP_1_1);
      req.setHost(options_.endpoint.host_header());
      req.setContentType("application/json");
      req.setContentLength(static_cast<std::streamsize>(body.size()));
      req.setKeepAlive(true);
      std::string auth = "Bearer ";
      auth += api_key;
      req.set("Authorization", auth);
      explicit_bzero(auth.data(), auth.size());
      auto& os = c->session->sendRequest(req);
      os << body;
      os.flush();
      sent = true;
      maybe_delivered = true;
      Poco::Net::HTTPResponse resp;
      auto& is = c->session->receiveResponse(resp);
      HttpResponse out;
      out.status = static_cast<int>(resp.getStatus());
      for (const auto& [name, value] : resp) {
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
        out.headers[lower] = value;
      }
      std::string data;
      char buf[8192];
      while (is.read(buf, sizeof buf) || is.gcount() > 0) {
        data.append(buf, static_cast<std::size_t>(is.gcount()));
        if (data.size() > kMaxResponseBytes) break;
      }
      out.body = std::move(data);
      if (resp.getKeepAlive() && out.body.size() <= kMaxResponseBytes) give_back(std::move(c));
      return out;
    } catch (const Poco::Net::NoMessageException&) {
      // The peer closed without answering: on a reused connection that is an idle close, safe to try again.
      if (c->reused && attempt == 0) {
        maybe_delivered = false;
        continue;
      }
      return Error{Errc::closed, "POST " + path + ": connection closed by " + options_.endpoint.host + " without a response"};
    } catch (const Poco::TimeoutException&) {
      return Error{Errc::timed_out, "POST " + path + " to " + options_.endpoint.host + ": " +
                                        (sent ? "no response within " : "could not send within ") +
                                        std::to_string(options_.request_timeout.count()) + " ms"};
    } catch (const Poco::Exception& e) {
      if (!sent && c->reused && attempt == 0) continue;
      return Error{Errc::io_error, "POST " + path + " to " + options_.endpoint.host + ": " + e.displayText()};
    }
  }
  return Error{Errc::io_error, "POST " + path + ": no usable connection"};
}

}  // namespace notify::braze
