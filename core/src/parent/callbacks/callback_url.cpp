#include "parent/callbacks/callback_url.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/URI.h>

namespace notify::callbacks {
namespace {

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  Poco::Net::IPAddress ip;
  return Poco::Net::IPAddress::tryParse(host, ip) && ip.isLoopback();
}

}  // namespace

Result<CallbackUrl> parse_callback_url(std::string_view url) {
  Poco::URI uri;
  try {
    uri = Poco::URI(std::string(url));
  } catch (const Poco::Exception& e) {
    return Error{Errc::invalid_argument, "not a URL: " + e.message()};
  }
  CallbackUrl out;
  out.scheme = uri.getScheme();
  out.host = uri.getHost();
  if (out.scheme != "https" && out.scheme != "http") {
    return Error{Errc::invalid_argument, "must be an https:// URL (http:// only to a loopback host)"};
  }
  if (out.host.empty()) return Error{Errc::invalid_argument, "has no host"};
  if (!uri.getUserInfo().empty()) return Error{Errc::invalid_argument, "must not carry user info"};
  if (!uri.getFragment().empty()) return Error{Errc::invalid_argument, "must not have a fragment"};
  if (out.scheme == "http" && !is_loopback_host(out.host)) {
    return Error{
        Errc::invalid_argument,
        "plain http is allowed only to a loopback host (127.0.0.1, ::1, localhost); use https for " + out.host};
  }
  out.port = uri.getPort();
  out.target = uri.getPathAndQuery();
  if (out.target.empty()) out.target.push_back('/');  // not = "/": g++ 12 misreads that as overlapping (-Wrestrict)
  return out;
}

}  // namespace notify::callbacks
