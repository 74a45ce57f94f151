#include "braze_http.hpp"

#include <notify/toolkit/tls_client.hpp>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace notify::braze {
namespace {

constexpr std::size_t kMaxResponseBytes = 1 << 20;

using toolkit::AdoptedSocket;

Poco::Timespan to_timespan(std::chrono::milliseconds d) { return Poco::Timespan(d.count() * 1000); }

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view url) {
  return toolkit::parse_endpoint_url(url, {"https", "http"}, "braze endpoint");
}

struct BrazeHttpClient::Connection {
  Poco::Net::StreamSocket socket;
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  bool reused = false;
};

BrazeHttpClient::BrazeHttpClient(TransportRegistry& transports, HttpOptions options, Log& log)
    : transports_(transports),
      options_(std::move(options)),
      log_(log),
      slots_(static_cast<std::ptrdiff_t>(std::clamp<std::size_t>(options_.pool_size, 1, 1024))) {
  if (options_.egress_address.empty()) {
    options_.egress_address = options_.endpoint.authority();
  }
  if (options_.endpoint.scheme == "https") {
    tls_ = toolkit::make_tls_client_context(options_.ca_file);  // SSL initialised once per plugin image
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
  // Poco and OpenSSL drive the socket themselves, so the egress transport must hand over an OS socket (transport.hpp).
  const int fd = stream.value()->release();
  if (fd < 0) {
    return Error{Errc::unsupported, "egress transport '" + options_.egress_transport + "' to " +
                                        options_.egress_address + " has no OS socket to hand over, so it cannot " +
                                        "carry TLS/HTTP to " + options_.endpoint.host};
  }
  auto c = std::make_unique<Connection>();
  try {
    AdoptedSocket plain(fd);
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
    return Error{Errc::timed_out,
                 "TLS handshake with " + options_.endpoint.host + " via " + options_.egress_address + " timed out"};
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
    return Error{Errc::timed_out, "POST " + path + ": all " + std::to_string(options_.pool_size) + " connections to " +
                                      options_.endpoint.host + " stayed busy for " +
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
      return Error{Errc::closed,
                   "POST " + path + ": connection closed by " + options_.endpoint.host + " without a response"};
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
