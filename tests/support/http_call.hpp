#pragma once
// One plain HTTP/1.1 request to a host's ingress (address "127.0.0.1:PORT"), for integration tests.
// Header-only; link Poco::Net.

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <string>

namespace notify::testing {

struct HttpReply {
  int status = 0;
  std::string body;
};

inline HttpReply http_call(const std::string& address, const std::string& method, const std::string& path,
                           const std::string& body = "", const std::string& bearer = "") {
  const auto colon = address.rfind(':');
  Poco::Net::HTTPClientSession s(address.substr(0, colon),
                                 static_cast<Poco::UInt16>(std::stoi(address.substr(colon + 1))));
  s.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!bearer.empty()) req.set("Authorization", "Bearer " + bearer);
  if (!body.empty()) {
    req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  auto& os = s.sendRequest(req);
  os << body;
  Poco::Net::HTTPResponse resp;
  HttpReply out;
  auto& is = s.receiveResponse(resp);
  Poco::StreamCopier::copyToString(is, out.body);
  out.status = static_cast<int>(resp.getStatus());
  return out;
}

}  // namespace notify::testing
